"""A recorded agent loop that runs until killed (the kill -9 test's victim).

    python record_runner.py STORE FAKE_URL

After each tool result it prints the number of steps its tape has committed, then goes on.
"""

from __future__ import annotations

import json
import sys

import openai

import tape_studio

STORE, URL = sys.argv[1:3]
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]


@tape_studio.traced_tool
def weather(city: str) -> str:
    return f"sunny in {city}"


client = openai.OpenAI(base_url=URL, api_key="sk-test")
with tape_studio.record("looper", task="count forever", store=STORE) as session:
    print(session.tape_id, flush=True)
    for n in range(100_000):
        first = client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"weather {n}"}], tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        weather(**json.loads(call.function.arguments))
        print(session.recording.length, flush=True)
