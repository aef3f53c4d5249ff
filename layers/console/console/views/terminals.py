"""The terminals (viewer): each terminal's number, mode and environment, and its last go-live check and smoke test
as the golive function or the command line kept them (``orders.checks``: the reports bucket, one listing and at
most two reads per terminal), each point in words. Nothing of the terminal secret is shown but what names it."""

from __future__ import annotations

from dataclasses import dataclass

from orders.checks import CheckRun, last_runs
from orders.exceptions import ConfigurationError, ReportUnavailableError
from orders.terminals import TerminalConfig

from ..http import Response
from ..i18n import catalog
from ..routing import Context, Route


@dataclass(frozen=True)
class Row:
    terminal: TerminalConfig
    runs: dict[str, CheckRun]
    times: dict[str, str]  # when each run was made, in the terminal's zone


def terminals_page(ctx: Context) -> Response:
    configuration = ctx.deps.terminals()
    error = ""
    rows = []
    for tpe in sorted(configuration.by_tpe):
        terminal = configuration.by_tpe[tpe]
        runs: dict[str, CheckRun] = {}
        if not error:
            try:
                runs = last_runs(ctx.deps.report_bucket(), tpe)
            except (ConfigurationError, ReportUnavailableError) as exc:
                error = ctx.t("terminals.results_unavailable", reason=str(exc))
        times = {kind: ctx.t.time(run.at, terminal.terminal.timezone) for kind, run in runs.items()}
        rows.append(Row(terminal, runs, times))
    texts = catalog(ctx.t.language)

    def check_name(name: str) -> str:
        """A point of a check in words (a point the console has no words for, by its name)."""
        key = f"terminals.check.{name}"
        return texts.get(key, name)

    return ctx.page(
        "terminals.html", rows=rows, default_tpe=configuration.default_tpe, results_error=error, check_name=check_name
    )


ROUTES = [Route("GET", "/console/terminals", "viewer", terminals_page)]
