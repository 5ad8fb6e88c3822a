-- The LLMCalls table TapeAgents writes beside its tapes; the tests build tapedata.sqlite from this.
CREATE TABLE LLMCalls (
    prompt_id TEXT PRIMARY KEY,
    timestamp TEXT,
    prompt TEXT,
    output TEXT,
    prompt_length_tokens INTEGER,
    output_length_tokens INTEGER,
    cached INTEGER,
    llm_info TEXT,
    cost REAL
);
INSERT INTO LLMCalls VALUES ('p1', '2024-05-01T09:00:00.000001',
  '{"id": "p1", "tools": null, "messages": [{"role": "system", "content": "Plan the steps."}, {"role": "user", "content": "What is the capital of France?"}]}',
  '{"role": "assistant", "content": "{\"plan\": [\"search the web\", \"answer\"], \"next_node\": \"act\"}"}',
  20, 12, 0, '{"model_name": "gpt-4o-mini", "parameters": {"temperature": 0.2}, "context_size": 128000}', 0.0003);
INSERT INTO LLMCalls VALUES ('p2', '2024-05-01T09:00:01',
  '{"id": "p2", "tools": [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "What is the capital of France?"}]}',
  '{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"query\": \"capital of France\"}"}}]}',
  30, 9, 1, '{"model_name": "gpt-4o-mini", "parameters": {}}', 0.0);
INSERT INTO LLMCalls VALUES ('p3', '2024-05-01T09:00:02',
  '{"id": "p3", "tools": null, "messages": [{"role": "user", "content": "Answer: Paris is the capital and largest city of France."}]}',
  '{"role": "assistant", "content": "Paris"}', 25, 1, 0, '{"model_name": "gpt-4o-mini"}', 0.0001);
INSERT INTO LLMCalls VALUES ('p-inner', '2024-05-01T08:00:00',
  '{"id": "p-inner", "tools": null, "messages": [{"role": "user", "content": "What is 2+2?"}]}',
  '{"role": "assistant", "content": "4"}', 6, 1, 0, '{"model_name": "gpt-4o-mini"}', 0.00001);
INSERT INTO LLMCalls VALUES ('p-judge', '2024-05-01T08:00:05',
  '{"id": "p-judge", "tools": null, "messages": [{"role": "user", "content": "Judge: What is 2+2? -> 4"}]}',
  '{"role": "assistant", "content": "{\"thought\": \"The answer is correct and short.\", \"score\": 1}"}',
  15, 10, 0, '{"model_name": "gpt-4o-mini"}', 0.00002);
INSERT INTO LLMCalls VALUES ('p-unused', '2024-05-01T07:00:00',
  '{"id": "p-unused", "tools": null, "messages": [{"role": "user", "content": "unrelated"}]}',
  '{"role": "assistant", "content": "unrelated"}', 2, 1, 0, '{"model_name": "gpt-4o-mini"}', 0.0);
