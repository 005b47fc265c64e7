"""`./zylin eval`: scenario files played as text calls through the real tools, then checked.

`scenario` loads and validates the files, `scratch` makes the throwaway database and call
context, `text_call` plays the caller's lines through the call's own LLM service and tools,
`checks` compares what happened with what the file expects, `run` ties them together,
`from_call` writes a scenario from a recorded call, and `cli` is the command.
"""
