"""Prompt files (Markdown and YAML the owner can edit) and the loader that fills them in."""

from prompts.loader import PromptError, Prompts, fill, load_prompts, render_system_prompt

__all__ = ["PromptError", "Prompts", "fill", "load_prompts", "render_system_prompt"]
