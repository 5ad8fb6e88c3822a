from tape_studio.core.learning.structured import clip, field_text, field_texts, read_object, schema


def test_reads_a_trailing_comma_that_small_models_write() -> None:
    assert read_object('{"rules": ["a", "b",\n]}') == {"rules": ["a", "b"]}


def test_reads_an_object_cut_off_mid_string() -> None:
    assert read_object('{"change": "use the calc') == {"change": "use the calc"}


def test_garbage_reads_as_none() -> None:
    assert read_object("I think the prompt is fine.") is None
    assert read_object("[1, 2]") is None


def test_fields_are_stripped_capped_and_typed() -> None:
    data = {"a": "  text  ", "n": 7, "rules": ["x", " x ", "", 3, "y"], "one": "z"}
    assert field_text(data, "a", 3) == "tex" and field_text(data, "n", 9) == "7" and field_text(data, "zz", 9) == ""
    assert field_texts(data, "rules", 10, 5) == ["x", "y"] and field_texts(data, "one", 10, 5) == ["z"]


def test_schema_requires_every_property_by_default() -> None:
    body = schema("x", {"a": {"type": "string"}})["json_schema"]["schema"]  # type: ignore[index]
    assert body["required"] == ["a"]  # type: ignore[index]


def test_clip_marks_a_cut() -> None:
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"
