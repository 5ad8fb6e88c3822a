import pytest

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning.metrics import exact_match, normalize, numeric_match, score, token_f1


def test_normalize_drops_case_punctuation_and_articles() -> None:
    assert normalize("The  Euro.") == normalize("euro") == "euro"


def test_exact_match_after_normalisation() -> None:
    assert exact_match("Paris.", "paris") == 1.0
    assert exact_match("Paris, France", "Paris") == 0.0


def test_token_f1_gives_partial_credit() -> None:
    assert token_f1("Swedish krona", "Swedish krona") == 1.0
    assert token_f1("krona", "Swedish krona") == pytest.approx(2 / 3)
    assert token_f1("", "Paris") == 0.0


def test_numeric_match_finds_the_number_in_a_sentence() -> None:
    assert numeric_match("The result is 1,879.", "1879") == 1.0
    assert numeric_match("108.0", "108") == 1.0
    assert numeric_match("107", "108") == 0.0
    assert numeric_match("Paris 2", "Paris") == 0.0  # the target is not a number


def test_answer_metric_is_the_best_of_the_three() -> None:
    assert score("answer", "It is 108", "108").score == 1.0
    assert score("answer", "krona", "Swedish krona").score == pytest.approx(0.6667)


RAMBLE = "); carbon has 6 protons.} Question: How many electrons does carbon have? Answer: 6"


@pytest.mark.parametrize(("prediction", "target"), [
    (RAMBLE, "6"),                                       # the output: the number among a ramble
    ("6 or 8", "6"),                                     # two answers
    ("12*9 = 108", "108"),                               # the working, not the answer
    ("108\nQuestion: What is 2+2? 4", "108"),           # an answer, then a made-up next turn
    ("Berlin, Paris, Rome or Madrid", "Berlin"),         # a list that contains the answer
    ("The capital of Kenya is Nairobi, and Kenya also has Mombasa and Kisumu", "Nairobi"),
])
def test_a_long_or_multi_answer_output_never_scores_as_exact(prediction: str, target: str) -> None:
    result = score("answer", prediction, target)
    assert result.score < 0.5, (prediction, result)
    assert numeric_match(prediction, target) == 0.0
    assert "only the answer" in result.feedback


@pytest.mark.parametrize(("prediction", "target"), [
    ("108", "108"), ("It is 108.", "108"), ("Sodium has atomic number 11", "11"), ("Nairobi", "Nairobi"),
    ("the euro", "euro"), ("Swedish krona.", "Swedish krona"),
])
def test_a_short_answer_that_is_the_reference_scores_one(prediction: str, target: str) -> None:
    assert score("answer", prediction, target).score == 1.0


def test_feedback_says_what_was_expected_and_what_is_missing() -> None:
    result = score("exact", "Rome", "Berlin")
    assert result.score == 0.0
    assert "Expected 'Berlin'" in result.feedback and "Missing: berlin" in result.feedback
    assert score("exact", "", "Berlin").feedback.startswith("No answer")
    assert score("exact", "Berlin", "Berlin").feedback.startswith("Correct")


def test_unknown_metric_is_an_error() -> None:
    with pytest.raises(NotFoundError, match="no metric named .bleu. .known: answer, exact"):
        score("bleu", "a", "b")
