import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.data import heartbeat as hb
from tests.conftest import write_record


def test_recipe_on_one_record_by_hand(tmp_path):
    info = write_record(tmp_path, "200", n_beats=12, seed=4)
    x, y, starts = hb.beats_from_record(info["signal"], info["samples"], info["symbols"])
    beats = [i for i, s in enumerate(info["symbols"]) if s in hb.AAMI][:-1]  # last beat dropped
    assert len(y) == len(beats)
    for row, i in enumerate(beats):
        s = info["samples"][i]
        seg = info["signal"][s : s + int(np.floor(1.2 * (info["samples"][i + 1] - s))) : 3].astype(np.float64)
        seg = ((seg - seg.min()) / (seg.max() - seg.min()))[:187].astype(np.float32)
        np.testing.assert_array_equal(x[row, : len(seg)], seg)
        assert (x[row, len(seg):] == 0).all()
        assert y[row] == hb.AAMI[info["symbols"][i]] and starts[row] == s


def test_true_lengths_ignore_inner_zeros():
    x = np.zeros((3, 187), np.float32)
    x[0, :50] = 0.5
    x[0, 10:20] = 0  # zeros inside a beat
    x[1, :] = 1
    lengths = hb.true_lengths(x)
    np.testing.assert_array_equal(lengths, [50, 187, 1])


def _check_build(beats: hb.Beats):
    assert len(beats) == 3 * 69 and beats.x.shape == (len(beats), 187)
    assert set(beats.y) == set(range(5))
    assert set(beats.record) == {100, 101, 102}
    assert ((beats.x >= 0) & (beats.x <= 1)).all()
    np.testing.assert_array_equal(beats.length, hb.true_lengths(beats.x))
    assert 0.15 < beats.split.mean() < 0.25  # stratified 80/20
    for c in range(5):  # every class on both sides
        assert ((beats.y == c) & (beats.split == 0)).any() and ((beats.y == c) & (beats.split == 1)).any()


def test_build_from_folder(records_dir):
    _check_build(hb.beats_from_records(records_dir))


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.xz"])
def test_build_from_archive_equals_folder(records_dir, tmp_path, kind):
    archive = tmp_path / f"mitdb.{kind}"
    files = sorted(p for p in records_dir.iterdir())
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for f in files:
                zf.write(f, f"mitdb-1.0.0/{f.name}")
    else:
        with tarfile.open(archive, "w:" + kind.split(".")[1]) as tf:
            for f in files:
                tf.add(f, f"mitdb-1.0.0/{f.name}")
    home = tmp_path / "home"
    meta = hb.prepare(archive, home, log=lambda m: None)
    assert meta["kind"] == "raw-archive" and meta["beats"] == 3 * 69
    built, direct = hb.load_beats(home), hb.beats_from_records(records_dir)
    np.testing.assert_array_equal(built.x, direct.x)
    np.testing.assert_array_equal(built.split, direct.split)


def test_prepare_caches_and_reuses(records_dir, tmp_path):
    home = tmp_path / "home"
    first = hb.prepare(records_dir, home, log=lambda m: None)
    assert not first["reused"] and first["counts"] == hb.load_beats(home).counts()
    second = hb.prepare(records_dir, home, log=lambda m: None)
    assert second["reused"] and second["cache"] == first["cache"]
    assert len(list((home / "cache").glob("*.npz"))) == 1


def test_kaggle_csv_round_trip_and_export(kaggle_dir, tmp_path):
    home = tmp_path / "home"
    meta = hb.prepare(kaggle_dir, home, log=lambda m: None)
    assert meta["kind"] == "kaggle-csv" and meta["train"] == 300 and meta["test"] == 100
    out = hb.export_kaggle(home, tmp_path / "out")
    for name in hb.KAGGLE_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (kaggle_dir / name).read_bytes()
    x, y = hb.read_kaggle_csv(out[0])
    assert x.shape == (300, 187) and x.dtype == np.float32 and y.dtype == np.int64


def test_export_of_a_raw_build_reads_back(records_dir, tmp_path):
    home = tmp_path / "home"
    hb.prepare(records_dir, home, log=lambda m: None)
    hb.export_kaggle(home, tmp_path / "out")
    beats = hb.load_beats(home)
    x, y = hb.read_kaggle_csv(tmp_path / "out" / "mitbih_test.csv")
    np.testing.assert_array_equal(x, beats.x[beats.split == 1])
    np.testing.assert_array_equal(y, beats.y[beats.split == 1])


def test_splits_and_sample_keep_every_class(records_dir, tmp_path):
    beats = hb.beats_from_records(records_dir)
    s = hb.make_splits(beats, val_fraction=0.2, sample=0.1, seed=0)
    for part in (s.train, s.val):
        assert set(part.y) == set(range(5))
    assert len(s.test) == int((beats.split == 1).sum())
    again = hb.make_splits(beats, val_fraction=0.2, sample=0.1, seed=0)
    np.testing.assert_array_equal(s.train.x, again.train.x)


def test_kaggle_split_sizes_for_the_full_database():
    y = np.repeat(np.arange(5), hb.KAGGLE_TOTALS)
    test = hb.raw_test_indices(y)
    assert len(test) == 21_892 and len(y) - len(test) == 87_554
    np.testing.assert_array_equal(np.bincount(y[test]), hb.KAGGLE_TEST_COUNTS)


# ---------------------------------------------------------------------------
# bad input: one clear ValueError each, naming the file or line
def _csv(tmp_path, text: str | bytes, name="mitbih_train.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


ROW = ",".join(["0.5"] * 187)


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    (f"{ROW},0\n{ROW},1\n0.1,0.2,0\n", "line 3 has 3 values, expected 188"),
    (",".join(["0.5"] * 100) + ",0\n", "found 101 columns, expected 188"),
    (f"{ROW},0\n" + ",".join(["0.5"] * 186) + ",abc,1\n", "line 2, column 187 is not a number: 'abc'"),
    (f"{ROW},7\n", "label 7 is not a class 0..4"),
    (f"{ROW},1.5\n", "label 1.5 is not a class"),
    (f"{ROW},-1\n", "label -1 is not a class"),
    (",".join(["nan"] * 187) + ",0\n", "line 1, column 1 is not a number: 'nan'"),
    (",".join(["inf"] + ["0.5"] * 186) + ",0\n", "line 1, column 1 is infinite"),
    (f"{ROW},0\n" + ",".join(["0.5"] * 187) + ",\n", "line 2, column 188 is empty"),
    ("\xff\xfe".encode("latin-1") + ROW.encode() + b",0\n", "not a plain ASCII CSV"),
])
def test_bad_kaggle_csv(tmp_path, content, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")) as err:
        hb.read_kaggle_csv(_csv(tmp_path, content))
    assert "mitbih_train.csv" in str(err.value)


def test_missing_csv_and_missing_path(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        hb.read_kaggle_csv(tmp_path / "mitbih_train.csv")
    with pytest.raises(ValueError, match="no such file or folder"):
        hb.prepare(tmp_path / "nowhere", tmp_path / "home", log=lambda m: None)


def test_folder_without_records(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="no MIT-BIH records found"):
        hb.prepare(tmp_path, tmp_path / "home", log=lambda m: None)


def _copy_records(src: Path, dest: Path, drop: str = "", truncate: str = "") -> Path:
    dest.mkdir()
    for f in src.iterdir():
        data = f.read_bytes()
        if f.name != drop:
            (dest / f.name).write_bytes(data[: len(data) // 10] if f.name == truncate else data)
    return dest


def test_missing_record_file(records_dir, tmp_path):
    folder = _copy_records(records_dir, tmp_path / "rec", drop="101.atr")
    with pytest.raises(ValueError, match="101.atr is missing"):
        hb.beats_from_records(folder)


def test_truncated_record(records_dir, tmp_path):
    folder = _copy_records(records_dir, tmp_path / "rec", truncate="100.dat")
    with pytest.raises(ValueError, match="record 100"):
        hb.beats_from_records(folder)


def test_checksum_mismatch(records_dir, tmp_path):
    folder = _copy_records(records_dir, tmp_path / "rec")
    (folder / "SHA256SUMS.txt").write_text("0" * 64 + " 100.dat\n")
    with pytest.raises(ValueError, match="checksum mismatch for 100.dat"):
        hb.beats_from_records(folder)


@pytest.mark.parametrize("data", [b"PK\x03\x04garbage-not-a-zip" * 10, b"\xfd7zXZ\x00\x00corrupt xz"])
def test_corrupt_archive(tmp_path, data):
    archive = tmp_path / "mitdb.zip"
    archive.write_bytes(data)
    with pytest.raises(ValueError, match="mitdb.zip"):
        hb.prepare(archive, tmp_path / "home", log=lambda m: None)


def test_truncated_tar_xz(records_dir, tmp_path):
    archive = tmp_path / "mitdb.tar.xz"
    with tarfile.open(archive, "w:xz") as tf:
        for f in sorted(records_dir.iterdir()):
            tf.add(f, f.name)
    archive.write_bytes(archive.read_bytes()[:2000])
    with pytest.raises(ValueError, match="corrupt or truncated|not a .zip or .tar"):
        hb.prepare(archive, tmp_path / "home", log=lambda m: None)


def test_archive_paths_cannot_escape(records_dir, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(records_dir.iterdir()):
            zf.write(f, f"../../{f.name}")
        zf.writestr("../../../escape.txt", "x")
    dest = tmp_path / "dest"
    dest.mkdir()
    hb.extract_archive(archive, dest)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "100.hea").exists()
    assert (dest / "100.hea").is_file() and not (dest / "escape.txt").exists()


def test_tar_links_are_skipped(records_dir, tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tf:
        for f in sorted(records_dir.iterdir()):
            tf.add(f, f.name)
        link = tarfile.TarInfo("103.hea")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    dest = tmp_path / "dest"
    dest.mkdir()
    hb.extract_archive(archive, dest)
    assert not (dest / "103.hea").exists()


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(hb, "MAX_ARCHIVE_BYTES", 1 << 20)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("100.dat", b"\0" * (4 << 20))  # 4 MiB of zeros, a few KiB packed
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ValueError, match="refusing"):
        hb.extract_archive(archive, dest)


def test_load_before_prepare(tmp_path):
    with pytest.raises(ValueError, match="python -m experiments prepare heartbeat"):
        hb.load_beats(tmp_path)


# ---------------------------------------------------------------------------
# download, against a PhysioNet-like folder served on loopback
@pytest.fixture
def mirror(records_dir, tmp_path):
    import functools
    import hashlib
    import http.server
    import threading

    folder = tmp_path / "mirror"
    folder.mkdir()
    lines = []
    for f in sorted(records_dir.iterdir()):
        (folder / f.name).write_bytes(f.read_bytes())
        lines.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()} {f.name}")
    (folder / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_checks_sums_and_builds(mirror, tmp_path, monkeypatch):
    folder, url = mirror
    monkeypatch.setenv("RNN_ARENA_PHYSIONET_URL", url)
    seen = []
    meta = hb.prepare(None, tmp_path / "home", progress=lambda d, t, w: seen.append((d, t)), log=lambda m: None)
    assert meta["beats"] == 3 * 69 and (9, 9) in seen  # 9 files downloaded
    assert (tmp_path / "home" / "raw" / "mitdb" / "100.dat").is_file()


def test_download_refuses_a_corrupt_file(mirror, tmp_path):
    folder, url = mirror
    (folder / "101.dat").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="101.dat: checksum mismatch"):
        hb.download_records(tmp_path / "dl", base_url=url)
    assert not (tmp_path / "dl" / "101.dat").exists()


def test_download_without_network_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="pass it with --source PATH"):
        hb.download_records(tmp_path / "dl", base_url="http://127.0.0.1:9/")
