"""chainrule.data: splits, scaling, batches, loaders (CSV/NPZ/IDX written here) and checks."""
import gzip
import sys

import numpy as np
import pytest

from chainrule.core.errors import ChainruleError
from chainrule.data import (DataLoader, Dataset, Standardizer, batches, check_labels, infer_task,
                            load, load_csv, load_dataset, load_idx, load_npz, read_idx,
                            train_val_test_split)


def write_csv(path, header, rows, sep=","):
    path.write_text(sep.join(header) + "\n" + "\n".join(sep.join(map(str, r)) for r in rows) + "\n")
    return path


# ---------------------------------------------------------------- splitting
def test_split_sizes_disjoint_and_complete():
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.arange(100) % 4
    (a, ya), (b, yb), (c, yc) = train_val_test_split(X, y, val=0.2, test=0.1, seed=3)
    assert (len(a), len(b), len(c)) == (70, 20, 10)
    ids = np.concatenate([a[:, 0], b[:, 0], c[:, 0]])
    assert sorted(ids) == list(X[:, 0])                   # every row once
    assert np.array_equal(X[(a[:, 0] // 2).astype(int)][:, 1], a[:, 1])  # rows stay intact
    assert np.array_equal(ya, (a[:, 0] // 2).astype(int) % 4)          # labels follow their rows


def test_split_is_seeded_and_stratified():
    X = np.random.default_rng(0).normal(size=(300, 3))
    y = np.r_[np.zeros(240, int), np.ones(60, int)]       # 80/20 imbalance
    s1 = train_val_test_split(X, y, seed=1)
    s2 = train_val_test_split(X, y, seed=1)
    s3 = train_val_test_split(X, y, seed=2)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(s1, s2))
    assert not np.array_equal(s1[2][0], s3[2][0])
    for _, part_y in s1:
        assert abs(part_y.mean() - 0.2) < 0.02            # each part keeps the class shares


def test_split_rejects_fractions_that_leave_nothing():
    with pytest.raises(ChainruleError, match="no training samples"):
        train_val_test_split(np.zeros((10, 1)), np.zeros(10), val=0.5, test=0.5)


# ------------------------------------------------------------------ scaling
def test_standardizer_uses_training_statistics_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])            # second column constant
    test = np.array([[5.0, 7.0]])
    s = Standardizer().fit(train)
    z = s.transform(train)
    assert np.allclose(z[:, 0], [-1, 1]) and np.all(z[:, 1] == 0)   # no division by zero
    assert np.allclose(s.transform(test), [[3.0, 2.0]])   # test scaled by train's mean/std
    s2 = Standardizer.from_state(s.state_dict())
    assert np.array_equal(s2.transform(test), s.transform(test))
    assert np.allclose(s.inverse_transform(z), train)
    with pytest.raises(ChainruleError, match="fitted on 2 features but got 3"):
        s.transform(np.zeros((1, 3)))
    with pytest.raises(ChainruleError, match="fit"):
        Standardizer().transform(train)


# ------------------------------------------------------------------ batches
def test_batches_cover_everything_in_seeded_order():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    got = list(batches(X, y, batch_size=4, seed=0))
    assert [len(b[0]) for b in got] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in got])) == list(range(10))
    assert all(np.array_equal(b[0][:, 0], b[1]) for b in got)       # pairs stay together
    again = [b[1] for b in batches(X, y, batch_size=4, seed=0)]
    assert all(np.array_equal(p, q[1]) for p, q in zip(again, got))
    assert [len(b[0]) for b in batches(X, y, 4, drop_last=True)] == [4, 4]
    assert np.array_equal(np.concatenate(list(batches(X, None, 3, shuffle=False)))[:, 0], X[:, 0])


def test_dataloader_epochs_differ_but_are_reproducible():
    X = np.arange(20.0)[:, None]
    dl = DataLoader(X, np.arange(20), batch_size=8, seed=5)
    assert len(dl) == 3
    e1 = [b[1] for b in dl.epoch_batches(1)]
    e2 = [b[1] for b in dl.epoch_batches(2)]
    assert not np.array_equal(e1[0], e2[0])
    assert np.array_equal(e1[0], next(iter(dl))[1])        # first pass is epoch 1


# ---------------------------------------------------------------------- CSV
def test_csv_target_by_name_index_and_default(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "label", "b"], [[1, "cat", 2], [3, "dog", 4],
                                                           [5, "cat", 6]])
    ds = load_csv(p, target="label")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6]] and ds.feature_names == ["a", "b"]
    assert ds.task == "binary" and ds.y.tolist() == [0, 1, 0] and list(ds.classes) == ["cat", "dog"]
    assert load_csv(p, target=1).target_name == "label"
    with pytest.raises(ChainruleError, match="'label' is not numeric"):
        load_csv(p)                                        # default target: the last column
    assert load(str(p), target="label").n_features == 2


def test_csv_unknown_column_lists_the_available_ones(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["age", "income", "y"], [[1, 2, 0], [3, 4, 1]])
    with pytest.raises(ChainruleError) as e:
        load_csv(p, target="price")
    assert "'price'" in str(e.value) and "age, income, y" in str(e.value)


def test_csv_nan_names_column_and_line(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 0], [3, "", 1], [5, "inf", 0]])
    with pytest.raises(ChainruleError) as e:
        load_csv(p)
    msg = str(e.value)
    assert "'b'" in msg and "lines 3, 4" in msg and "fill" in msg


def test_csv_text_feature_and_semicolons_and_gzip(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["city", "y"], [["Paris", 1], ["Rome", 0]])
    with pytest.raises(ChainruleError, match="'city' is not numeric"):
        load_csv(p)
    q = write_csv(tmp_path / "s.csv", ["x1", "x2", "t"], [[1.5, 2, 0.1], [2.5, 1, 0.7]], sep=";")
    ds = load_csv(q)
    assert ds.X.shape == (2, 2) and ds.task == "regression"
    z = tmp_path / "g.csv.gz"
    z.write_bytes(gzip.compress(q.read_bytes()))
    assert np.array_equal(load_csv(z).X, ds.X)


# ---------------------------------------------------------------------- NPZ
def test_npz_default_and_chosen_keys(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 4))
    np.savez(tmp_path / "a.npz", X=X, y=np.arange(30) % 3, feats=X[:, :2], target=X[:, 0])
    ds = load_npz(tmp_path / "a.npz")
    assert ds.task == "multiclass" and ds.n_classes == 3 and ds.X.shape == (30, 4)
    ds2 = load(str(tmp_path / "a.npz"), x_key="feats", y_key="target")
    assert ds2.task == "regression" and ds2.X.shape == (30, 2)
    with pytest.raises(ChainruleError, match="no array 'labels'.*X, y, feats, target"):
        load_npz(tmp_path / "a.npz", y_key="labels")


# ---------------------------------------------------------------------- IDX
def write_idx(path, arr, code, gz=False):
    head = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    data = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_read_idx_types_shapes_and_gzip(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4)).astype(np.uint8)
    assert np.array_equal(read_idx(write_idx(tmp_path / "i", imgs, 0x08)), imgs)
    assert np.array_equal(read_idx(write_idx(tmp_path / "i.gz", imgs, 0x08, gz=True)), imgs)
    ints = np.array([-70000, 3, 123456], dtype=np.int32)
    assert np.array_equal(read_idx(write_idx(tmp_path / "n", ints, 0x0C)), ints)
    floats = np.array([[1.5, -2.25]], dtype=np.float32)
    out = read_idx(write_idx(tmp_path / "f", floats, 0x0D))
    assert out.dtype == np.float32 and np.array_equal(out, floats)


def test_idx_pair_as_dataset_and_errors(tmp_path):
    imgs = np.full((6, 2, 2), 255, np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2], np.uint8)
    ip, lp = write_idx(tmp_path / "img", imgs, 0x08), write_idx(tmp_path / "lab", labels, 0x08)
    ds = load_idx(ip, lp)
    assert ds.X.shape == (6, 4) and ds.X.max() == 1.0 and ds.n_classes == 3
    assert load(str(ip), labels=str(lp)).X.shape == (6, 4)
    with pytest.raises(ChainruleError, match="labels"):
        load(str(ip))
    (tmp_path / "bad").write_bytes(b"\x12\x34\x56\x78rest")
    with pytest.raises(ChainruleError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(ip.read_bytes()[:-3])
    with pytest.raises(ChainruleError, match="truncated"):
        read_idx(tmp_path / "short")
    with pytest.raises(ChainruleError, match="6 images but .* 2 labels"):
        load_idx(ip, write_idx(tmp_path / "l2", labels[:2], 0x08))


# --------------------------------------------------------------- validation
def test_label_checks_explain_shape_and_dtype():
    with pytest.raises(ChainruleError, match=r"1-D .* shape \(4, 3\).*argmax"):
        check_labels(np.eye(4, 3), 4, "multiclass")
    with pytest.raises(ChainruleError, match="whole class indices"):
        check_labels(np.array([0.5, 1.0]), 2, "binary")
    with pytest.raises(ChainruleError, match="3 rows but labels have 2"):
        check_labels(np.zeros(2), 3, "regression")
    with pytest.raises(ChainruleError, match="0 or 1"):
        check_labels(np.array([0, 2]), 2, "binary")
    with pytest.raises(ChainruleError, match="must be numbers"):
        check_labels(np.array(["a", "b"]), 2, "regression")
    assert check_labels(np.array([[1], [0]]), 2, "binary").tolist() == [1, 0]


def test_nan_in_arrays_names_column_and_rows():
    X = np.ones((6, 3))
    X[[1, 4], 2] = np.nan
    with pytest.raises(ChainruleError, match=r"column 2 .*NaN.* rows 1, 4"):
        Dataset(X, np.zeros(6))
    with pytest.raises(ChainruleError, match="'c'"):
        Dataset(X, np.zeros(6), feature_names=["a", "b", "c"])


def test_infer_task():
    assert infer_task(np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1]))[0] == "binary"
    assert infer_task(np.array([3, 5, 7] * 10))[1].tolist()[:3] == [0, 1, 2]
    assert infer_task(np.linspace(0, 1, 50))[0] == "regression"


# ------------------------------------------------------------------ bundled
@pytest.mark.parametrize("name,shape,task", [("digits", (1797, 64), "multiclass"),
                                             ("breast_cancer", (569, 30), "binary"),
                                             ("iris", (150, 4), "multiclass"),
                                             ("wine", (178, 13), "multiclass"),
                                             ("diabetes", (442, 10), "regression")])
def test_bundled_datasets(name, shape, task):
    pytest.importorskip("sklearn")
    ds = load_dataset(name)
    assert ds.X.shape == shape and ds.task == task and len(ds.y) == shape[0]


def test_missing_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ChainruleError, match=r'pip install "chainrule\[data\]"'):
        load_dataset("iris")
    with pytest.raises(ChainruleError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")


# ------------------------------------------------- CSV headers, names, labels
from hypothesis import given, settings, strategies as st  # noqa: E402

from chainrule.data.loaders import read_csv  # noqa: E402

_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_ ]{0,8}", fullmatch=True).filter(
    lambda s: s.strip() and not _numeric(s))
_CELL = st.one_of(st.integers(-1000, 1000).map(str),
                  st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.6g}"))


def _numeric(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@st.composite
def tables(draw):
    """A numeric table (optionally with a text label column), with or without a header."""
    cols = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(_CELL, min_size=cols, max_size=cols), min_size=1, max_size=8))
    if draw(st.booleans()):                               # a text label column at the end
        labels = draw(st.lists(st.sampled_from(["cat", "dog", "a b"]), min_size=len(rows),
                               max_size=len(rows)))
        rows = [r + [lab] for r, lab in zip(rows, labels)]
        cols += 1
    header = draw(st.lists(_NAME, min_size=cols, max_size=cols, unique_by=str.strip))
    return header if draw(st.booleans()) else None, rows


@settings(max_examples=60, deadline=None)
@given(tables())
def test_csv_header_is_detected_or_the_first_row_is_never_dropped_silently(tmp_path_factory,
                                                                          table):
    header, rows = table
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    lines = ([",".join(header)] if header else []) + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    if header is not None:
        names, body = read_csv(path)
        assert names == [h.strip() for h in header] and len(body) == len(rows)
    else:
        with pytest.raises(ChainruleError, match="looks like data.*--no-header"):
            read_csv(path)
        names, body = read_csv(path, header=False)
        assert names == [f"x{j}" for j in range(len(rows[0]))] and len(body) == len(rows)
        assert [r for _, r in body] == rows and body[0][0] == 1


def test_csv_without_header_loads_every_row_with_no_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    with pytest.raises(ChainruleError, match="first line of .* \\(1, 2, 0\\) looks like data"):
        load_csv(p)
    ds = load_csv(p, header=False)
    assert len(ds) == 4 and ds.feature_names == ["x0", "x1"] and not ds.named_features
    assert load(str(p), header=False).X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert len(load_csv(p, header=True)) == 3             # the user says line 1 names columns


def test_csv_duplicate_column_names_are_refused(tmp_path):
    p = write_csv(tmp_path / "d.csv", ["a", "b", "a ", "y"], [[1, 2, 3, 0], [4, 5, 6, 1]])
    with pytest.raises(ChainruleError, match="two columns named 'a' \\(columns 0 and 2\\)"):
        load_csv(p)


def test_csv_errors_name_the_real_line_without_a_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("1,2,0\n3,,1\n")
    with pytest.raises(ChainruleError, match="line 2"):
        load_csv(p, header=False)


@pytest.mark.parametrize("labels", [[0] * 12, [3.5] * 12, ["spam"] * 12])
def test_a_label_column_with_one_value_is_refused_not_guessed_as_regression(tmp_path, labels):
    X = np.arange(24.0).reshape(12, 2)
    with pytest.raises(ChainruleError, match="nothing to learn.*--target.*--task"):
        Dataset(X, np.array(labels))
    assert Dataset(X, np.array(labels[:1] * 12), task="regression" if not isinstance(
        labels[0], str) else "multiclass").task                  # naming the task trains anyway


def test_r2_of_a_constant_target_is_undefined():
    from chainrule.training import r2_score
    assert np.isnan(r2_score(np.zeros(5), np.zeros(5)))


@pytest.mark.parametrize("content, fragment", [
    (b"a,b,y\n1,2,0\n", "text file (starting 'a,b,y')"),
    (b"\x93NUMPY\x01\x00v\x00", "single .npy array"),
    (b"\x80\x04\x95", "pickle"),
    (b"", "empty"),
])
def test_a_file_named_npz_that_is_no_archive_never_gets_pickle_advice(tmp_path, content,
                                                                     fragment):
    p = tmp_path / "data.npz"
    p.write_bytes(content)
    for reader in (load_npz, load):
        with pytest.raises(ChainruleError) as e:
            reader(str(p))
        assert fragment in str(e.value) and "allow_pickle" not in str(e.value)
    np.savez(tmp_path / "obj.npz", X=np.array([{}, 1], dtype=object), y=np.zeros(2))
    with pytest.raises(ChainruleError) as e:
        load_npz(tmp_path / "obj.npz")
    assert "never unpickles" in str(e.value) and "allow_pickle" not in str(e.value)
