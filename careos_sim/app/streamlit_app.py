"""careos-sim's interactive app (a Streamlit script): compare two leadership systems, teach with
three prepared demonstrations, or compare two hospitals unit by unit. Start it with ``careos-sim
app``; the logic lives in :mod:`careos_sim.app.logic`."""

from __future__ import annotations

import atexit
import hashlib
import inspect
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st

from careos_sim.app import logic
from careos_sim.app import error_details_off
from careos_sim.spec.hospital import HospitalSpec
from careos_sim.spec.loader import InputError
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.text import for_markdown

log = logging.getLogger("careos_sim.app")

COMPARE, TEACH, HOSPITAL = "Compare two systems", "Teaching mode", "Hospital"
SOURCES = {"telling": "Telling preset", "listening": "Listening preset", "upload": "A scenario file I upload"}


@st.cache_resource
def result_cache() -> logic.ResultCache:
    """Finished comparisons, shared by every session of this server."""
    return logic.ResultCache()


def demo_preparer(limits: logic.Limits) -> logic.DemoPreparer:
    """The demonstrations, prepared in the background and kept on disk, shared by every session; a
    result that cannot be kept on disk is kept with the finished comparisons."""
    prep = logic.preparer()
    prep.limits, prep.fallback = limits, result_cache()
    return prep


def session_folder() -> Path:
    """This session's folder for uploaded files."""
    if "upload_folder" not in st.session_state:
        folder = tempfile.mkdtemp(prefix="careos-sim-upload-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        st.session_state.upload_folder = folder
    return Path(st.session_state.upload_folder)


def show_problems(heading: str, lines: list[str]) -> None:
    """An error box with ``heading`` (Markdown, its user strings already escaped), and the problem
    lines below it as plain text: a file's lines may hold anything, and are never read as Markdown."""
    st.error(heading)
    if lines:
        st.code("\n".join(lines), language=None, wrap_lines=True)


def show_limits(hits: list[logic.LimitHit]) -> None:
    for hit in hits:
        st.warning(hit.message, icon=":material/block:")


# --------------------------------------------------------------------------- running


def run(a, b, labels: tuple[str, str], limits: logic.Limits, sources=(None, None)) -> logic.CachedRun | None:
    """The comparison, from the cache or run now with a progress bar (one run at a time per server).
    The limits are checked again here, on the server, before anything is built or run."""
    cache = result_cache()
    hit = cache.get(logic.settings_key(a, b, labels))
    if hit is not None:
        return hit
    hits = logic.check_run((a, b), limits)
    if hits:
        show_limits(hits)
        return None
    total = 2 * a.run.replications  # runs: each side once per paired replication
    bar = st.progress(0.0, text=f"Starting {a.run.replications} paired replications ({total} runs)…")
    while not logic.RUN_GATE.acquire(timeout=0.5):
        bar.progress(0.0, text="Another comparison is running on this server; yours starts as soon as it ends…")
    try:
        entry = logic.run_comparison(
            a, b, labels, cache, sources=sources, limits=limits,
            progress=lambda done, n: bar.progress(done / n, text=f"{done} of {n} runs done…"))
    except logic.LimitError as exc:
        bar.empty()
        show_limits(exc.hits)
        return None
    except InputError as exc:  # e.g. a results folder the report cannot read
        bar.empty()
        show_problems("The comparison could not be run:", logic.issue_lines(exc, cache.root))
        return None
    except Exception:  # noqa: BLE001 - an internal error: a short message here, the traceback in the server's log
        bar.empty()
        log.exception("careos-sim app: the comparison failed")
        st.error("The comparison failed with an internal error, so there are no results. The details are in "
                 "the server's log; please report the settings you used.")
        return None
    finally:
        logic.RUN_GATE.release()
    bar.progress(1.0, text=f"{a.run.replications} paired replications done in {entry.seconds:.1f} s.")
    return entry


def run_button(sides, labels, limits: logic.Limits, picks, mode: str) -> logic.CachedRun | None:
    """The "Run comparison" button of a mode ("compare" or "hospital") and the results to show: those
    of the current settings (``sides``, None while they cannot run), run when the button is pressed
    or found in the cache, else the mode's previous results, said to be so."""
    clicked = st.button("Run comparison", type="primary", disabled=sides is None,
                        key="run.compare" if mode == "compare" else f"{mode}.run")
    state = f"{mode}_result"
    if clicked and sides is not None:
        entry = run(*sides, labels, limits, sources=(picks["a"].path, picks["b"].path))
        if entry is not None:
            st.session_state[state] = entry.key
    shown = result_cache().get(logic.settings_key(*sides, labels)) if sides is not None else None
    if shown is None and st.session_state.get(state):
        shown = result_cache().get(st.session_state[state])
        if shown is not None:
            st.info("The results below are from the previous settings; press **Run comparison** to update them.")
    return shown


def _metric_options() -> dict[str, Any]:
    """A framed big number, where this Streamlit frames them."""
    return {"border": True} if "border" in inspect.signature(st.metric).parameters else {}


def show_headline(paired, metrics, labels: tuple[str, str]) -> None:
    """The big numbers: B's value of each outcome, and its change from A (green where B is better,
    red where A is, grey where the 95% CI of the difference includes zero). Their sentences, with the
    full names, units and intervals, follow them on the page."""
    items = logic.headline(paired, metrics, labels)
    if not items:
        return
    for col, item in zip(st.columns(len(items)), items):
        with col:
            st.metric(item.label, item.value, item.delta, delta_color=item.delta_color, **_metric_options())


def show_table(frame) -> None:
    """A table whose cells wrap (every cell readable at any window width), the first column as its index.
    A table's cells and headers are Markdown, and a side's name is the user's: every one is escaped."""
    def plain(x: Any) -> Any:
        return for_markdown(x, 1000) if isinstance(x, str) else x

    shown = frame.map(plain).rename(columns=plain)
    st.table(shown.set_index(shown.columns[0]))


def show_results(entry: logic.CachedRun, heading: str = "Results", headline: bool = True) -> None:
    """The headline numbers and key findings, the brief (folded), the scorecard, the time series and
    equity figures, and the downloads of one comparison."""
    with st.spinner("Drawing the figures…"):
        art = logic.artefacts(entry)
    a, b = (for_markdown(x) for x in entry.labels)
    st.header(heading)
    st.caption(f"A: **{a}** against B: **{b}**, {entry.replications} paired replications of "
               f"{entry.horizon_days:g} days on common random numbers (run took {entry.seconds:.1f} s)."
               + (" The big numbers are B's, with the change from A: green where B is better, red where A is, "
                  "grey where the 95% CI of the difference includes zero." if headline else ""))
    if headline:
        paired = logic.paired_of(entry)
        show_headline(paired, logic.HEADLINE, entry.labels)
        for sentence in logic.key_findings(paired, logic.HEADLINE, entry.labels):
            st.markdown(f"- {sentence}")
    with st.expander("In plain language: the brief", expanded=False):
        st.markdown(art.brief)
    st.subheader("Scorecard")
    st.caption("Every outcome of the six quality dimensions, the workforce and the unit's learning, for both "
               "systems. A side is named better only where the 95% confidence interval of the paired "
               "difference B - A excludes zero. Each outcome's name in the results files is in the paired "
               "comparison (CSV) below.")
    if "scorecard" in art.figures:
        st.image(art.figures["scorecard"], width="stretch",
                 caption="Change from A to B as % of A's mean, signed so that right is better for B, with 95% CIs.")
    show_table(art.scorecard.drop(columns="metric"))
    if "time_series" in art.figures:
        st.subheader("Over time")
        st.caption("Weekly means of both systems over the replications, with 95% bands (kept within what each "
                   "outcome can be: no share below 0 or above 100%, no negative rate).")
        st.image(art.figures["time_series"], width="stretch")
    if "equity" in art.figures:
        st.subheader("Equity: patients with limited English proficiency and the others")
        st.image(art.figures["equity"], width="stretch")
    from careos_sim.app import animation

    if animation.has_log(entry.folder):  # the first day of replication 0, from the comparison's event log
        with st.expander("A day on the unit"):
            animation.show(entry.folder, entry.labels, key=f"day.{entry.key}")
    st.subheader("Download")
    cols = st.columns(len(art.downloads))
    for col, (label, (data, name, mime)) in zip(cols, art.downloads.items()):
        with col:
            st.download_button(label, data, file_name=name, mime=mime, on_click="ignore",
                               key=f"download.{entry.key}.{name}")


# --------------------------------------------------------------------------- compare mode


def setting_widget(setting: logic.Setting, value: float, key: str) -> float:
    low, high = setting.widget_range(value)
    if setting.integer:
        return st.number_input(setting.label, int(low), int(high), int(value), max(1, int(setting.step)),
                               help=setting.help, key=key)
    if setting.unit == "dial":
        return st.slider(setting.label, float(low), float(high), float(value), float(setting.step),
                         help=setting.help, key=key)
    return st.number_input(setting.label, float(low), float(high), float(value), float(setting.step),
                           help=setting.help, key=key, format="%g")


class SidePick(NamedTuple):
    """One side as chosen on the page."""

    label: str  # its name in tables and legends
    path: Path  # the scenario file it starts from
    values: dict[str, Any]  # the value of every setting offered
    base: ScenarioSpec  # the scenario file as it stands


def _upload_size(limits: logic.Limits) -> dict[str, int]:
    """The uploader's own size limit (in whole MB, so at least 1), where this Streamlit has one."""
    if "max_upload_size" in inspect.signature(st.file_uploader).parameters:
        return {"max_upload_size": max(1, -(-limits.max_upload_bytes // (1024 * 1024)))}
    return {}


def side_panel(side: str, default: str, presets: logic.Presets, limits: logic.Limits) -> SidePick | None:
    """One side's source and settings, or None when it cannot run (no file yet, or a bad one)."""
    st.subheader(f"{side.upper()}")
    choice = st.selectbox("Start from", list(SOURCES), index=list(SOURCES).index(default),
                          format_func=SOURCES.get, key=f"{side}.source",
                          help="A preset scenario from scenarios/, or your own scenario file (YAML, as for "
                               "careos-sim compare; it may extend default.yaml, telling.yaml or listening.yaml).")
    if choice == "upload":
        upload = st.file_uploader("Scenario file (YAML)", type=["yaml", "yml"], key=f"{side}.upload",
                                  help=f"At most {logic.size_text(limits.max_upload_bytes)}; it may extend a preset "
                                       "by name (extends: telling.yaml) and nothing else.",
                                  **_upload_size(limits))
        if upload is None:
            st.info("Upload a scenario file to use it on this side.")
            return None
        data = upload.getvalue()
        path, base, errors = logic.load_upload(upload.name, data, session_folder() / side, presets,
                                               max_bytes=limits.max_upload_bytes)
        if errors:
            show_problems(f"**{for_markdown(upload.name, logic.MAX_NAME_CHARS)}** is not a valid scenario, so "
                          "nothing can run:", errors)
            return None
        source_id = hashlib.sha256(data).hexdigest()[:12]
        name = base.name
    else:
        path = presets.path(choice)
        try:
            base = logic.build_scenario(path, {}, root=presets.folder)
        except InputError as exc:
            show_problems("The preset is not a valid scenario:", logic.issue_lines(exc, presets.folder))
            return None
        source_id, name = choice, choice
    original = logic.setting_values(base)
    values = {}
    group = None
    for setting in logic.SIDE_SETTINGS:
        if setting.group != group:
            group = setting.group
            st.markdown(f"**{group}**")
        values[setting.path] = setting_widget(setting.within(limits), original[setting.path],
                                              f"{side}.{source_id}.{setting.path}")
    return SidePick(logic.side_label(name, values, original), path, values, base)


def compare_mode(presets: logic.Presets, limits: logic.Limits) -> None:
    st.title("Telling or listening: compare two leadership systems")
    st.markdown("Choose what each side starts from and set its dials, then run both on common random numbers: "
                "the same patients, nurses and defects, so that what differs is the system. Hover over the "
                "**?** beside a setting for what it means.")
    columns = st.columns(2, gap="large")
    picks = {}
    for side, col, default in (("a", columns[0], "telling"), ("b", columns[1], "listening")):
        with col:
            picks[side] = side_panel(side, default, presets, limits)

    st.subheader("Run")
    st.caption("Both sides run with these settings, paired replication by replication. The app starts at 365 "
               "days and 5 replications for a first answer in seconds; the main comparison of the command line "
               "is 730 days and 10 replications.")
    run_settings = {s.path: s for s in logic.RUN_SETTINGS}
    seed0 = picks["a"].base.run.seed if picks["a"] else 20261125
    cols = st.columns(3)
    # shorter than the presets' 730 days x 10 (the command line's main comparison), for a first answer sooner
    defaults = {"run.horizon_days": 365, "run.replications": 5, "run.seed": min(seed0, run_settings["run.seed"].high)}
    run_values = {}
    for col, (path, setting) in zip(cols, run_settings.items()):
        with col:
            run_values[path] = int(st.number_input(setting.label, int(setting.low), int(setting.high),
                                                   int(defaults[path]), 1, help=setting.help, key=path))
    horizon, replications = run_values["run.horizon_days"], run_values["run.replications"]
    warmup = max((p.base.run.warmup_days for p in picks.values() if p), default=0.0)
    hits = logic.check_limits(horizon, replications, limits, warmup)

    scenarios, labels, problems = None, None, []
    if picks["a"] and picks["b"]:
        labels = logic.distinct_labels(picks["a"].label, picks["b"].label)
        built = []
        for pick, label in zip((picks["a"], picks["b"]), labels):
            try:
                built.append(logic.build_scenario(pick.path, {**pick.values, **run_values}, label,
                                                  root=pick.path.parent))
            except InputError as exc:
                problems += logic.issue_lines(exc, pick.path.parent)  # the file as the user knows it
        if problems:
            show_problems("These settings are not valid:", problems)
        else:
            scenarios = tuple(built)
            hits = logic.check_run(scenarios, limits)  # warm-up, beds and headcount of the sides as well
    show_limits(hits)
    ready = scenarios is not None and not hits
    workers = logic.workers_for(horizon, replications)
    if ready:
        seconds = logic.estimate_seconds(horizon, replications, workers)
        st.caption(f"{replications} paired replications of {horizon:g} days (each side runs once per "
                   f"replication); roughly {max(1, round(seconds))} s on this machine. Changing a setting while it "
                   f"runs stops the run.")
    shown = run_button(scenarios if ready else None, labels, limits, picks, "compare")
    if shown is not None:
        show_results(shown)
    if ready:
        uncertainty_panel(scenarios, labels, limits)


# --------------------------------------------------------------------------- across what we do not know

UNCERTAINTY_CAPTIONS = {
    "uncertainty_effects": "How the effect B - A spreads over the plausible settings; black line: no effect, "
                           "dashed: the median, shaded: 90% of settings.",
    "uncertainty_drivers": "Which uncertain parameters drive the effect: partial rank correlations with 95% "
                           "bootstrap intervals (blue where the interval excludes 0).",
    "uncertainty_boxes": "Scenario discovery: the settings on the two parameters that matter most for harm, and "
                         "where B fails to beat A (or, where it never fails, where it helps least).",
    "uncertainty_ceac": "Cost-effectiveness acceptability: the share of settings where B is worth its cost at each "
                        "willingness to pay per harm event averted.",
}


def uncertainty_panel(scenarios: tuple[ScenarioSpec, ScenarioSpec], labels: tuple[str, str], limits: logic.Limits) -> None:
    """Run the comparison across plausible settings of the uncertain free parameters, and show what it
    finds in plain words first, then its figures (as ``compare --uncertainty`` and its report do)."""
    st.header("Across what we do not know")
    ranges = logic.find_ranges()
    if ranges is None:
        st.info("The ranges of the uncertain parameters (experiments/uncertainty/listening-default-unit.yaml) "
                "were not found beside this installation, so this app cannot run the study; the command line "
                "can: `careos-sim compare A B --uncertainty RANGES.yaml`.")
        return
    st.markdown("The intervals above cover simulation noise only: they hold at the model's parameter values. "
                "Several of those are free parameters that no data pins down (how much a fix removes, how "
                "much of a defect's fix the departments can take on, how much exhaustion raises slips, ...). "
                "This runs the same two sides across plausible settings of seven of them, drawn by Latin "
                "hypercube from their documented ranges, with the same random numbers on both sides, and says "
                "how often B is better, by how much, what drives it and where it fails.")
    cols = st.columns(2)
    with cols[0]:
        sets = int(st.number_input("Parameter settings", logic.MIN_UNCERTAINTY_SETS, logic.MAX_UNCERTAINTY_SETS,
                                   logic.MIN_UNCERTAINTY_SETS, 1, key="uncertainty.sets",
                                   help=f"How many plausible settings to draw (default "
                                        f"{logic.MIN_UNCERTAINTY_SETS}; "
                                        f"{logic.MIN_UNCERTAINTY_SETS}-{logic.MAX_UNCERTAINTY_SETS}). The shipped "
                                        "study of docs/model.md section 11 runs 100."))
    with cols[1]:
        reps = int(st.number_input("Paired replications per setting", 2, limits.max_replications, 2, 1,
                                   key="uncertainty.replications",
                                   help="Both sides, paired on common random numbers (default 2; at least 2 to "
                                        "tell parameter uncertainty from simulation noise)."))
    hits = logic.check_uncertainty(sets, reps, scenarios, limits)
    show_limits(hits)
    horizon = scenarios[0].run.horizon_days
    workers = logic.workers_for(horizon, sets * reps)
    st.caption(f"{sets} settings x 2 sides x {reps} replications of {horizon:g} days; roughly "
               f"{max(1, round(logic.estimate_seconds(horizon, sets * reps, workers)))} s on this machine.")
    clicked = st.button("Run across plausible settings", disabled=bool(hits), key="uncertainty.run")
    cache = result_cache()
    entry = cache.get(logic.uncertainty_key(*scenarios, labels, ranges, sets, reps))
    if clicked and entry is None and not hits:
        total = 2 * sets * reps
        bar = st.progress(0.0, text=f"Starting {total} runs…")
        while not logic.RUN_GATE.acquire(timeout=0.5):
            bar.progress(0.0, text="Another run is going on this server; yours starts as soon as it ends…")
        try:
            entry = logic.run_uncertainty(*scenarios, labels, cache, ranges=ranges, sets=sets, replications=reps,
                                          limits=limits, progress=lambda done, n: bar.progress(
                                              done / n, text=f"{done} of {n} runs done…"))
        except logic.LimitError as exc:
            bar.empty()
            show_limits(exc.hits)
            return
        except Exception:  # noqa: BLE001 - an internal error: a short message here, the traceback in the log
            bar.empty()
            log.exception("careos-sim app: the uncertainty study failed")
            st.error("The study across plausible settings failed with an internal error. The details are in "
                     "the server's log; please report the settings you used.")
            return
        finally:
            logic.RUN_GATE.release()
        bar.progress(1.0, text=f"{total} runs done in {entry.seconds:.1f} s.")
    if entry is None:
        return
    view = logic.uncertainty_view(entry)
    st.markdown(view.words)
    for key, png in view.figures.items():
        st.image(png, width=900, caption=UNCERTAINTY_CAPTIONS.get(key))


# --------------------------------------------------------------------------- teaching mode


def teaching_mode(presets: logic.Presets, limits: logic.Limits) -> None:
    st.title("Teaching mode: three demonstrations")
    st.sidebar.caption("Each demonstration is a prepared comparison with its settings fixed. It is prepared once "
                       "on this server (in the background, the first time teaching mode opens) and kept on disk, so "
                       "that it opens in a moment afterwards, after a restart too.")
    groups = logic.demo_groups()
    titles = {key: cases[0].title for key, cases in groups.items()}
    key = st.radio("Demonstration", list(titles), format_func=titles.get, horizontal=True, key="demo",
                   label_visibility="collapsed")
    cases = {d.key: d for d in groups[key]}
    demo = next(iter(cases.values()))
    if len(cases) > 1:
        number = {k: i for i, k in enumerate(cases, start=1)}
        chosen = st.radio("Case", list(cases), format_func=lambda k: f"Case {number[k]}: {cases[k].case}",
                          horizontal=True, key=f"demo.case.{key}", label_visibility="collapsed")
        demo = cases[chosen]
    a, b, labels = logic.demo_scenarios(demo, presets)
    st.subheader(demo.title)
    st.markdown(f"*{demo.question}*")
    hits = logic.check_run((a, b), limits)
    show_limits(hits)
    entry = None if hits else prepared_demo(demo, limits)
    if entry is not None:
        paired = logic.paired_of(entry)
        st.subheader("What happened")
        show_headline(paired, demo.focus[:4], labels)
        st.caption(f"B: **{for_markdown(labels[1])}** against A: **{for_markdown(labels[0])}**, "
                   f"{demo.replications} paired replications of {demo.horizon_days:g} days, seed {demo.seed}; green: "
                   "better for B, red: better for A, grey: no clear difference (the 95% CI includes zero).")
        for sentence in logic.key_findings(paired, demo.focus[:4], labels):
            st.markdown(f"- {sentence}")
        weekly = entry.extras.get("weekly")
        sentence = logic.trajectory(weekly, demo.trajectory, labels) if demo.trajectory and weekly is not None \
            else None
        if sentence:
            st.markdown(f"- {sentence}")
    st.markdown(f"**What to look for.** {demo.look_for}")
    if entry is not None and entry.extras.get("demo_figure"):
        st.image(entry.extras["demo_figure"], width="stretch",
                 caption="Week by week: the mean of the paired replications of each side, with 95% bands.")
    with st.expander("The demonstration explained, and its settings", expanded=False):
        st.markdown(demo.explanation)
        st.markdown("**The prepared comparison**")
        st.markdown(f"- **A: {for_markdown(labels[0])}** — the {demo.a.preset} preset"
                    + "".join(f", `{k}` = {v:g}" for k, v in demo.a.overrides.items()))
        st.markdown(f"- **B: {for_markdown(labels[1])}** — the {demo.b.preset} preset"
                    + "".join(f", `{k}` = {v:g}" for k, v in demo.b.overrides.items()))
        st.markdown(f"- {demo.replications} paired replications of {demo.horizon_days:g} days, seed {demo.seed}")
    if entry is None:
        return
    st.subheader("The outcomes it is about")
    show_table(logic.findings_table(paired, demo.focus, labels).drop(columns="metric"))
    show_results(entry, heading="The full comparison", headline=False)


def prepared_demo(demo: logic.Demo, limits: logic.Limits) -> logic.CachedRun | None:
    """The demonstration's prepared comparison when it is kept (in memory or on disk); else None, with
    its preparation started in the background (and, the first time, every other demonstration's
    after it) and a progress bar that redraws the page when it is ready."""
    prep = demo_preparer(limits)
    root = logic.demo_cache_root()
    entry = prep.ready(demo, root)
    status = prep.status(demo, root)
    if entry is None and status is not None and status.state == "failed":
        if status.hits:
            show_limits(status.hits)
        else:
            st.error("This demonstration could not be prepared because of an internal error. The details are in "
                     "the server's log.")
        if not st.button("Try again", key=f"demo.retry.{demo.key}"):
            return None
    if logic.prepare_all():  # the others too, in the background, the first time teaching mode opens
        prep.request_all(logic.DEMOS, root, demo)
    elif entry is None:
        prep.request([demo], root)
    if entry is None:
        preparing(demo, str(root) if root else "")
    return entry


@st.fragment(run_every=1.0)
def preparing(demo: logic.Demo, root: str) -> None:
    """The progress of a demonstration being prepared, redrawn every second; the whole page is drawn
    again once it is ready (or has failed)."""
    status = logic.preparer().status(demo, root or None)
    if status is None or status.state in ("done", "failed"):
        st.rerun()
    total = 2 * demo.replications
    if status.state == "waiting":
        st.progress(0.0, text="Waiting for another demonstration or comparison to finish first…")
    else:
        done = min(status.done, total)
        st.progress(done / total, text=(
            f"Preparing this demonstration, once: {done} of {total} runs done ({demo.replications} paired "
            f"replications of {demo.horizon_days:g} days), then its figures. It is kept afterwards."))


# --------------------------------------------------------------------------- hospital mode


class HospitalPick(NamedTuple):
    """One hospital as chosen on the page."""

    label: str  # its name in tables and legends
    path: Path  # the hospital file it starts from
    base: HospitalSpec  # the hospital file as it stands


def hospital_side(side: str, default: str, presets: logic.Presets, limits: logic.Limits) -> HospitalPick | None:
    """One side's hospital: a hospital preset or an uploaded hospital file; None when it cannot run."""
    st.subheader(f"{side.upper()}")
    options = [*logic.hospital_presets(presets), "upload"]
    choice = st.selectbox(
        "Start from", options, index=options.index(default) if default in options else 0,
        format_func=lambda k: "A hospital file I upload" if k == "upload" else f"{k} preset",
        key=f"hospital.{side}.source",
        help="A hospital preset from scenarios/ (a file that says kind: hospital), or your own hospital file. Its "
             "units may extend the unit presets by name (extends: default) or the files of scenarios/units/ "
             "(extends: units/icu.yaml), and it may extend a hospital preset (extends: hospital.yaml).")
    if choice == "upload":
        upload = st.file_uploader("Hospital file (YAML)", type=["yaml", "yml"], key=f"hospital.{side}.upload",
                                  help=f"At most {logic.size_text(limits.max_upload_bytes)}; it and its units may "
                                       "name only the presets and units/*.yaml, nothing else.",
                                  **_upload_size(limits))
        if upload is None:
            st.info("Upload a hospital file to use it on this side.")
            return None
        path, base, errors = logic.load_upload(upload.name, upload.getvalue(), session_folder() / f"hospital-{side}",
                                               presets, max_bytes=limits.max_upload_bytes, hospital=True)
        if errors:
            show_problems(f"**{for_markdown(upload.name, logic.MAX_NAME_CHARS)}** is not a valid hospital, so "
                          "nothing can run:", errors)
            return None
    else:
        path = presets.path(choice)
        try:
            base = logic.build_hospital(path, {}, root=presets.folder)
        except InputError as exc:
            show_problems("The preset is not a valid hospital:", logic.issue_lines(exc, presets.folder))
            return None
    st.caption(f"**{for_markdown(logic.side_label(base.name, {}, {}))}**: {logic.hospital_summary(base)}")
    return HospitalPick(logic.side_label(base.name, {}, {}), path, base)


def hospital_mode(presets: logic.Presets, limits: logic.Limits) -> None:
    st.title("Telling or listening: compare two hospitals")
    st.markdown("Each side is a whole hospital: its units, each a unit scenario, share a float pool, departments, "
                "a quality team and the flow of patients between them. Both run on common random numbers (each "
                "unit's patients, nurses and defects are the same on both sides), so what differs is the system. "
                "The results show the hospital first, then its units side by side.")
    if not logic.hospital_presets(presets):
        st.info("No hospital presets were found beside this installation (files in scenarios/ that say "
                "kind: hospital); upload a hospital file on each side.")
    columns = st.columns(2, gap="large")
    picks: dict[str, HospitalPick | None] = {}
    for side, col, default in (("a", columns[0], logic.HOSPITAL_DEFAULTS[0]),
                               ("b", columns[1], logic.HOSPITAL_DEFAULTS[1])):
        with col:
            picks[side] = hospital_side(side, default, presets, limits)

    st.subheader("Run")
    cost = logic.HOSPITAL_SECONDS_PER_DAY
    st.caption(f"Both hospitals run with these settings, paired replication by replication. A hospital costs "
               f"about one unit's day per unit for every simulated day: a replication of the 21-unit default "
               f"hospital takes roughly {cost:.1f} s per simulated day on one core, so the app starts at 91 days "
               f"and 2 replications for a first answer in a minute or two. For a year or more, or more "
               f"replications, use the command line.")
    run_settings = {s.path: s for s in logic.RUN_SETTINGS}
    seed0 = picks["a"].base.run.seed if picks["a"] else 20261125
    defaults = {"run.horizon_days": 91, "run.replications": 2, "run.seed": min(seed0, run_settings["run.seed"].high)}
    run_values = {}
    for col, (path, setting) in zip(st.columns(3), run_settings.items()):
        with col:
            run_values[path] = int(st.number_input(setting.label, int(setting.low), int(setting.high),
                                                   int(defaults[path]), 1, help=setting.help,
                                                   key=f"hospital.{path}"))
    horizon, replications = run_values["run.horizon_days"], run_values["run.replications"]
    warmup = max((p.base.run.warmup_days for p in picks.values() if p), default=0.0)
    hits = logic.check_limits(horizon, replications, limits, warmup)

    hospitals, labels, problems = None, None, []
    if picks["a"] and picks["b"] and not hits:
        labels = logic.distinct_labels(picks["a"].label, picks["b"].label)
        built = []
        for pick, label in zip((picks["a"], picks["b"]), labels):
            try:
                built.append(logic.build_hospital(pick.path, run_values, label, root=pick.path.parent))
            except InputError as exc:
                problems += logic.issue_lines(exc, pick.path.parent)
        if problems:
            show_problems("These settings are not valid:", problems)
        else:
            hospitals = tuple(built)
            hits = logic.check_run(hospitals, limits)  # units x days, and every unit's beds and headcount
    show_limits(hits)
    ready = hospitals is not None and not hits
    if ready:
        workers = logic.hospital_workers(hospitals)
        seconds = logic.estimate_hospital_seconds(hospitals, workers)
        units = " and ".join(str(len(h.units)) for h in hospitals)
        st.caption(f"{replications} paired replications of {horizon:g} days of hospitals of {units} units "
                   f"({sum(logic.unit_days(h) for h in hospitals):,.0f} simulated unit-days in all, on {workers} "
                   f"process{'es' if workers > 1 else ''}); roughly {max(1, round(seconds))} s on this machine. "
                   f"Changing a setting while it runs stops the run.")
    shown = run_button(hospitals if ready else None, labels, limits, picks, "hospital")
    if shown is not None:
        show_results(shown, heading="The hospital")
        show_units(shown)


def show_units(entry: logic.CachedRun) -> None:
    """The units of the two hospitals side by side (``units-comparison.csv``), and their files."""
    if "units_table" not in entry.extras:
        entry.extras["units_table"] = logic.units_table(entry.folder, logic.UNITS_TABLE_METRICS)
    table = entry.extras["units_table"]
    st.header("Units side by side")
    if table.empty:
        st.info("This comparison has no units' table.")
        return
    a, b = (for_markdown(x) for x in entry.labels)
    st.caption(f"The hospital above is its units together; here each unit alone, paired by replication on common "
               f"random numbers: the mean of A (**{a}**) and of B (**{b}**), B - A with its 95% CI, and the better "
               "side, A or B, only where that interval excludes 0 (else neither). Harm: harm events per 1,000 "
               "patient-days; missed care: % of care tasks missed; burnout: % of nurses burned out (a difference "
               "of percentages in percentage points, pp). Every outcome of every unit is in the units' paired "
               "table (CSV) below, and in the report.")
    show_table(table)
    downloads = logic.units_downloads(entry.folder)
    for col, (label, (data, name, mime)) in zip(st.columns(len(downloads) or 1), downloads.items()):
        with col:
            st.download_button(label, data, file_name=name, mime=mime, on_click="ignore",
                               key=f"download.{entry.key}.{name}")


# --------------------------------------------------------------------------- page


def main() -> None:
    st.set_page_config(page_title="careos-sim: telling or listening", page_icon=":hospital:", layout="wide")
    # however the app was started: an uncaught error shows no traceback, type or message on the page
    st.set_option("client.showErrorDetails", error_details_off())
    try:
        page()
    except Exception:  # noqa: BLE001 - an internal error: a short message here, the traceback in the server's log
        log.exception("careos-sim app: the page failed")
        st.error("Something went wrong on the server while drawing this page. The details are in the server's "
                 "log; please report what you did.")


def page() -> None:
    presets = logic.find_presets()
    limits, limit_problems = logic.Limits.from_env()
    with st.sidebar:
        st.markdown("## careos-sim")
        mode = st.radio("Mode", [COMPARE, TEACH, HOSPITAL], key="mode")
        st.markdown("A discrete-event simulation of one inpatient unit, or of a hospital of such units, under a "
                    "*telling* leadership system or a *listening* care operating system.")
        st.caption(f"Limits of this app: horizon up to {limits.max_horizon_days:g} days, up to "
                   f"{limits.max_replications} replications, at most {limits.max_replication_days:,.0f} "
                   f"simulated days a side (replications x (warm-up + horizon)), {limits.max_beds} beds and "
                   f"{limits.max_nurses} nurses a side (for a hospital: a unit), at most "
                   f"{limits.max_unit_days:,.0f} simulated unit-days a hospital (replications x (warm-up + "
                   f"horizon) x units), and uploads of {logic.size_text(limits.max_upload_bytes)}.")
    for problem in limit_problems:
        st.warning(problem)
    if presets.fallback:
        st.warning(presets.fallback)
    if mode == TEACH:
        teaching_mode(presets, limits)
    elif mode == HOSPITAL:
        hospital_mode(presets, limits)
    else:
        compare_mode(presets, limits)


# Streamlit runs this script as __main__; a worker process spawned for a large run re-imports it
# as __mp_main__ and must not draw the page
if __name__ == "__main__":
    main()
