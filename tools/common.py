"""What every tool shares: turning its outcome into one small JSON result, errors included."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec

from loguru import logger
from pipecat.frames.frames import FunctionCallResultProperties
from pipecat.services.llm_service import FunctionCallParams

from tools.validation import ToolInputError
from zylin.call.context import CallContext

P = ParamSpec("P")
Result = dict[str, Any]


class Said(dict[str, Any]):
    """A tool result after which the caller has been told everything: the LLM is not run."""


UNEXPECTED = (
    "Sorry, I couldn't do that just now because of a technical problem. "
    "I can take a message so someone calls back."
)


async def record_action(ctx: CallContext, kind: str, detail: Result) -> None:
    """Add an action to the call record, best effort: what the tool did already stands."""
    try:
        await ctx.repository.add_action(ctx.call_sid, kind, detail)
    except Exception as exc:
        logger.error(f"Could not record the {kind} action: {exc}")


def context_of(params: FunctionCallParams) -> CallContext:
    """The call's `CallContext` (passed as `PipelineWorker(app_resources=...)`)."""
    ctx = params.app_resources
    if not isinstance(ctx, CallContext):
        raise RuntimeError("tools need PipelineWorker(app_resources=CallContext(...))")
    return ctx


def direct_tool(
    impl: Callable[Concatenate[FunctionCallParams, P], Awaitable[Result]],
) -> Callable[Concatenate[FunctionCallParams, P], Awaitable[None]]:
    """Make a Pipecat direct function from `impl`, which returns its result as a dict.

    The wrapper keeps `impl`'s name, signature and docstring (Pipecat builds the tool schema
    from them), hands the dict to `params.result_callback`, and turns any failure into
    `{"error": ...}` so a bad argument or a broken dependency never kills the call.
    """

    @functools.wraps(impl)
    async def tool(params: FunctionCallParams, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            result = await impl(params, *args, **kwargs)
        except ToolInputError as exc:
            result = {"error": str(exc)}
        except TypeError as exc:  # the LLM sent unknown or missing arguments
            logger.warning(f"Tool {impl.__name__} called with bad arguments: {exc}")
            result = {"error": "I got that request wrong; let me try again."}
        except Exception as exc:
            logger.exception(f"Tool {impl.__name__} failed: {exc}")
            result = {"error": UNEXPECTED}
        if isinstance(result, Said):
            properties = FunctionCallResultProperties(run_llm=False)
            await params.result_callback(dict(result), properties=properties)
        else:
            await params.result_callback(result)

    return tool
