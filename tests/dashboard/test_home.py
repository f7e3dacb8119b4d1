from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import heartbeat as hb
from experiments import runner
from tests.conftest import torch_left_out

ROOT = Path(__file__).resolve().parents[2]
HOME_PAGE = str(ROOT / "dashboard" / "views" / "home.py")


def _text(at) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.info] + [m.value for m in at.warning]
    parts += [m.value for m in at.success] + [c.value for c in at.code] + [m.value for m in at.caption]
    return "\n".join(parts)


def test_home_without_data_or_runs_shows_guidance(home):
    at = AppTest.from_file(HOME_PAGE, default_timeout=60).run()
    assert not at.exception
    text = _text(at)
    assert "Not prepared yet" in text and "prepare heartbeat" in text
    assert "No runs yet" in text


def test_home_lists_dataset_and_runs(home, kaggle_dir, tiny_config):
    hb.prepare(kaggle_dir, home, log=lambda m: None)
    summary = runner.run(tiny_config, home)
    at = AppTest.from_file(HOME_PAGE, default_timeout=60).run()
    assert not at.exception
    assert "Ready: 400 beats (300 train, 100 test)" in _text(at)
    assert "Not prepared yet" in _text(at)  # titles not prepared
    table = at.dataframe[0].value
    assert summary.run_id in set(table["run_id"])
    assert table.iloc[0]["status"] == "FINISHED"
    assert [m.value for m in at.metric][0] == "1"  # one finished run


def test_app_navigation_renders_home(home):
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "RNN Arena"


def test_unusable_home_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("RNN_ARENA_HOME", str(blocker))
    at = AppTest.from_file(HOME_PAGE, default_timeout=60).run()
    assert not at.exception
    assert "is a file" in at.error[0].value


def test_home_shows_the_titles_dataset(home, titles_dir):
    from core.data import titles as tt

    tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
    at = AppTest.from_file(HOME_PAGE, default_timeout=60).run()
    assert not at.exception
    text = _text(at)
    assert "8 categories" in text and "Ready: 161 titles (97 train, 32 validation, 32 test)" in text, text[-600:]


def test_empty_pages_link_to_new_run(home):
    """No runs yet: Home, Run report, Compare and Monitor point to the New run
    page (a link in the app), not to a terminal."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    for page in ("views/home.py", "views/report.py", "views/compare.py", "views/monitor.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        links = [link.proto.page for link in at.get("page_link")]
        # Home also starts the "start here" path at the one-click comparison
        assert links == (["comparison", "new-run"] if page == "views/home.py" else ["new-run"]), page
        assert not any("experiments run" in c.value for c in at.code), page


def test_home_and_data_reads_never_import_torch(home, kaggle_dir, titles_dir, tiny_config):
    """The Home page's services and the Data page's loaders, on a store with
    a run and both workloads prepared, leave torch out of the process."""
    from core.data import titles as tt

    hb.prepare(kaggle_dir, home, log=lambda m: None)
    tt.prepare(titles_dir, home, log=lambda m: None, workers=1)
    runner.run(tiny_config, home)
    code = (
        "from dashboard import data_services as ds, services\n"
        f"h = {str(home)!r}\n"
        "entries = services.datasets(h)\n"
        "assert [e['ready'] for e in entries] == [True, True], entries\n"
        "assert len(services.runs(h)) == 1\n"
        "beats, titles = ds.dataset_meta(h, 'heartbeat'), ds.dataset_meta(h, 'titles')\n"
        "ds.heartbeat_counts(beats, 0.5, 0, 0.1); ds.heartbeat_profile(beats, 'train', 0, 0.1)\n"
        "ds.heartbeat_record_sets(beats, 0, 0.1)\n"
        "ds.titles_counts(titles, 0.5, 0, reliable_only=True); ds.titles_profile(titles, 'train', 0)\n")
    assert torch_left_out(code, home)


def test_home_prepares_the_heartbeats_without_a_terminal(home, kaggle_dir):
    """Start here: the Home page prepares a dataset from a path (or an upload)
    in the background and shows its progress; a wrong path is said, not raised."""
    import time

    from streamlit.testing.v1 import AppTest

    from core.data import heartbeat as hb
    from experiments import prepare_job

    page = str(Path(__file__).resolve().parents[2] / "dashboard" / "views" / "home.py")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception and "Start here" in [h.value for h in at.subheader]
    assert "The same from a terminal" in [e.label for e in at.expander]  # the command only folded away
    path = next(t for t in at.text_input if t.label.startswith("Path of the files"))
    path.input(str(kaggle_dir / "missing")).run()
    next(b for b in at.button if b.label.startswith("Prepare the heartbeats")).click().run()
    assert not at.exception and "nothing at" in at.error[0].value
    at.text_input[0].input(str(kaggle_dir)).run()
    next(b for b in at.button if b.label.startswith("Prepare the heartbeats")).click().run()
    assert not at.exception
    deadline = time.time() + 120
    while time.time() < deadline and prepare_job.status(home, "heartbeat")["running"]:
        time.sleep(0.5)
    job = prepare_job.status(home, "heartbeat")
    assert job["ok"], job["log"][-500:]
    assert hb.dataset_info(home) is not None
