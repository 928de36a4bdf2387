"""`couchnet train`, `couchnet runs` and `couchnet plot`."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from loader.client import Couch
from loader.options import connection_options, echo_json
from loader.runs import Run, list_runs, plot_run, summary
from loader.session import (
    BATCH_SIZE,
    CSV_EPOCHS,
    EPOCHS,
    LEARNING_RATE,
    MOMENTUM,
    EpochReport,
    Result,
    Session,
    Settings,
)

INTERRUPTED = 130
# Options that only a new run takes; a resumed run keeps what it recorded.
NEW_RUN_OPTIONS = (
    "dataset",
    "learning_rate",
    "momentum",
    "batch_size",
    "seed",
    "sync_every",
    "shard",
)


def parse_shard(ctx, param, text: str | None) -> tuple[int, int] | None:
    """I/N: the I-th of N parts of the training rows, counting from 1."""
    if text is None:
        return None
    index, slash, count = text.partition("/")
    try:
        shard = int(index), int(count)
    except ValueError:
        shard = None
    if not slash or shard is None or not 1 <= shard[0] <= shard[1]:
        raise click.BadParameter(f"{text!r} is not I/N with 1 <= I <= N", ctx, param)
    return shard


@click.command("train")
@click.option(
    "--dataset",
    metavar="xor|digits|FILE.csv",
    help="xor, digits (8x8 digits from scikit-learn, 25% held out) or a CSV "
    "file whose columns are named after input and output neurons.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help=f"Passes over the data [default: xor {EPOCHS['xor']}, digits "
    f"{EPOCHS['digits']}, CSV {CSV_EPOCHS}]; with --resume, the new total.",
)
@click.option(
    "--learning-rate",
    type=float,
    help=f"Step size of gradient descent [default: {LEARNING_RATE}].",
)
@click.option(
    "--momentum", type=float, help=f"Momentum, 0 to below 1 [default: {MOMENTUM}]."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help=f"Rows per step [default: {BATCH_SIZE}].",
)
@click.option("--seed", type=int, help="Seed of the batch order [default: 0].")
@click.option(
    "--sync-every",
    type=click.IntRange(min=1),
    metavar="K",
    help="Write the weights back every K steps [default: once per epoch].",
)
@click.option(
    "--shard",
    metavar="I/N",
    callback=parse_shard,
    help="Train on the I-th of N parts of the rows (several trainers at once).",
)
@click.option(
    "--resume",
    "resume_run",
    metavar="RUN",
    help="Continue a stopped run from what the database holds.",
)
@connection_options
def train_command(couch: Couch, as_json: bool, resume_run: str | None, **options):
    """Train the stored network by backpropagation of the squared error.

    The weights in CouchDB are the source of truth: every K steps the changed
    neurons are written back in one _bulk_docs request; a neuron changed by
    someone else meanwhile is read again and takes this trainer's delta on
    top, so several trainers can share one network. Each run is recorded as a
    document (see `couchnet runs`); Ctrl-C stops it, and --resume continues it.

    \b
    Examples:
      couchnet create --layers 2,8,1 --activation tanh
      couchnet train --dataset xor
      couchnet create --layers 64,32,10 --activation tanh --force
      couchnet train --dataset digits --json
      couchnet train --dataset digits --shard 1/2 &  couchnet train \\
          --dataset digits --shard 2/2
      couchnet train --resume run-20261203T170102Z-3f9a1c
    """
    session = open_session(couch, resume_run, options)
    result = run_session(session, show_progress=not as_json and on_terminal())
    if as_json:
        echo_json(asdict(result))
    else:
        click.echo(result_line(result))


def open_session(couch: Couch, resume_run: str | None, options: dict) -> Session:
    if resume_run:
        given = [name for name in NEW_RUN_OPTIONS if options[name] is not None]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise click.UsageError(f"{flags}: a resumed run keeps its own settings")
        return Session.resume(couch, resume_run, options["epochs"])
    if not options["dataset"]:
        raise click.UsageError("give --dataset (or --resume RUN)")
    given = {name: value for name, value in options.items() if value is not None}
    return Session.start(couch, Settings(**given))


def run_session(session: Session, show_progress: bool) -> Result:
    """Train to the end; Ctrl-C says how to resume and exits with 130."""
    try:
        with progress_bar(session, show_progress) as on_epoch:
            return session.train(on_epoch)
    except KeyboardInterrupt:
        click.echo(
            f"Interrupted: continue with couchnet train --resume {session.run.id}",
            err=True,
        )
        raise click.exceptions.Exit(INTERRUPTED) from None


def on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress_bar(session: Session, show: bool):
    """Yield an epoch callback drawing a rich bar on stderr, or None."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
        transient=True,
    )
    done = session.step // session.steps_per_epoch
    task = progress.add_task(
        "train", total=session.settings.epochs, completed=done, status=""
    )

    def on_epoch(report: EpochReport) -> None:
        status = f"loss {report.loss:.4f}"
        if report.accuracy is not None:
            status += f"  accuracy {report.accuracy:.1%}"
        status += f"  {report.samples_per_second:,.0f} samples/s"
        progress.update(task, completed=report.epoch, status=status)

    with progress:
        yield on_epoch


def result_line(result: Result) -> str:
    line = f"{result.run}: {result.epochs} epochs"
    if result.loss is not None:
        line += f", loss {result.loss:.4g}"
    if result.accuracy is not None:
        line += f", accuracy {result.accuracy:.1%}"
    return line


@click.command("runs")
@connection_options
def runs_command(couch: Couch, as_json: bool) -> None:
    """List the training runs recorded in the database, oldest first.

    \b
    Example:
      couchnet runs --json
    """
    rows = [summary(doc) for doc in list_runs(couch)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no training runs")
        return
    click.echo(
        f"{'RUN':32} {'STATE':11} {'DATASET':10} {'EPOCHS':>9} "
        f"{'LOSS':>10} {'ACCURACY':>8}  STARTED"
    )
    for row in rows:
        epochs = f"{row['epochs']}/{row['of']}"
        loss = "" if row["loss"] is None else f"{row['loss']:.4g}"
        score = "" if row["accuracy"] is None else f"{row['accuracy']:.1%}"
        click.echo(
            f"{row['run']:32} {row['state'] or '':11} {str(row['dataset'])[:10]:10} "
            f"{epochs:>9} {loss:>10} {score:>8}  {row['started'] or ''}"
        )


@click.command("plot")
@click.argument("run_id", metavar="RUN")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default="loss.png",
    show_default=True,
    help="Image file to write (PNG, SVG or PDF, by its extension).",
)
@connection_options
def plot_command(couch: Couch, as_json: bool, run_id: str, out: Path) -> None:
    """Draw a run's loss per epoch (and its accuracy, where recorded).

    \b
    Example:
      couchnet plot run-20261203T170102Z-3f9a1c --out loss.png
    """
    run = Run.load(couch, run_id)
    plot_run(run.doc, out)
    if as_json:
        echo_json({"run": run.id, "out": str(out)})
    else:
        click.echo(f"wrote {out}")
