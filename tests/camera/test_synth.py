import json

import numpy as np
import pytest

from edge_mnist.camera.recognize import Digit, FrameResult, Line, Number
from edge_mnist.camera.synth import HEIGHT, MARGIN, WIDTH, make_dataset, score

cv2 = pytest.importorskip("cv2")


def test_dataset_is_labelled_from_the_test_split(camera_data, mnist):
    labels = json.loads(camera_data.labels.read_text())
    assert labels["seed"] and labels["source"] == "MNIST test split" and len(labels["frames"]) == camera_data.frames
    counts, heights, touching = [], [], 0
    for record in labels["frames"]:
        assert (camera_data.folder / record["image"]).is_file()
        flat = [d for line in record["lines"] for number in line for d in number]
        assert flat == record["digits"]  # the flat list is the lines' digits in reading order
        text = "\n".join(" ".join("".join(str(d["label"]) for d in number) for number in line) for line in record["lines"])
        assert record["text"] == text
        counts.append(len(flat))
        for digit in flat:
            assert digit["label"] == mnist.y_test[digit["test_index"]]  # provenance: a test digit, labelled right
            x, y, w, h = digit["box"]
            assert 0 < x and 0 < y and x + w < WIDTH and y + h < HEIGHT
            heights.append(h)
        for line in record["lines"]:
            for number in line:
                touching += sum(a["box"][0] + a["box"][2] >= b["box"][0] for a, b in zip(number, number[1:]))
    assert min(counts) >= 1 and max(counts) <= 12 and np.mean(counts) >= 4
    assert min(heights) < 30 and max(heights) > 120  # small and large writing
    assert touching >= 5  # neighbours that touch or overlap


def test_same_seed_same_frames_other_seed_other_frames(camera_data, mnist, tmp_path):
    seed = json.loads(camera_data.labels.read_text())["seed"]
    again = make_dataset(tmp_path / "again", mnist, frames=2, seed=seed, video=False)
    other = make_dataset(tmp_path / "other", mnist, frames=2, seed=seed + 1, video=False)
    first = (camera_data.folder / "frame_0001.jpg").read_bytes()
    assert (again.parent / "frame_0001.jpg").read_bytes() == first
    assert (other.parent / "frame_0001.jpg").read_bytes() != first
    assert json.loads(again.read_text())["frames"] == json.loads(camera_data.labels.read_text())["frames"][:2]


def test_frames_look_photographed(camera_data):
    """Uneven light and noise: no frame is a clean synthetic page."""
    frame = cv2.imread(str(camera_data.folder / "frame_0000.jpg"), cv2.IMREAD_GRAYSCALE)
    assert frame.shape == (HEIGHT, WIDTH)
    paper = frame[MARGIN:-MARGIN, MARGIN:-MARGIN]
    paper = paper[paper > np.percentile(paper, 30)]  # leave the ink out
    assert paper.std() > 3  # texture, noise and a lighting gradient


def test_video_holds_the_same_frames(camera_data):
    capture = cv2.VideoCapture(str(camera_data.video))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    assert len(frames) == camera_data.frames
    still = cv2.imread(str(camera_data.folder / "frame_0005.jpg"))
    assert np.abs(frames[5].astype(int) - still).mean() < 4  # two JPEG encodings of one frame


def test_score_counts_found_correct_and_extra(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"frames": [{"digits": [{"label": 3, "box": [10, 10, 20, 30]}, {"label": 7, "box": [100, 10, 20, 30]}]}, {"digits": [{"label": 1, "box": [0, 0, 9, 9]}]}]}))
    result = FrameResult(0, 0.0, "f", (Line((Number((Digit(3, 0.9, (12, 12, 16, 26)), Digit(1, 0.9, (100, 12, 18, 26)))),)), Line((Number((Digit(5, 0.9, (300, 300, 20, 20)),)),))))
    s = score([result], labels)  # the second frame was never read: its digit counts as missed
    assert (s.digits, s.found, s.correct, s.extra) == (3, 2, 1, 1)
    assert s.recall == pytest.approx(2 / 3) and s.accuracy == pytest.approx(1 / 2)
    assert s.text is None  # labels without text: no number or line scores


def test_score_reads_numbers_and_lines_from_the_text(tmp_path):
    labels = tmp_path / "labels.json"
    digits = [{"label": 1, "box": [10, 10, 20, 30]}, {"label": 2, "box": [40, 10, 20, 30]}, {"label": 7, "box": [100, 10, 20, 30]}]
    labels.write_text(json.dumps({"frames": [{"digits": digits, "text": "12 7"}]}))
    one, two, seven = (Digit(d["label"], 0.9, tuple(d["box"])) for d in digits)
    joined = FrameResult(0, 0.0, "f", (Line((Number((one, two, seven)),)),))
    apart = FrameResult(0, 0.0, "f", (Line((Number((one, two)), Number((seven,)))),))
    assert (score([joined], labels).text.numbers_exact, score([apart], labels).text.numbers_exact) == (0, 2)
    assert score([apart], labels).text.lines_exact == 1 and score([joined], labels).recall == 1.0


def test_a_thumb_holds_the_page_but_never_covers_the_writing():
    from edge_mnist.camera.synth import _photograph

    cv2 = pytest.importorskip("cv2")
    page = np.full((HEIGHT, WIDTH, 3), 220, np.float32)
    writing = np.zeros((HEIGHT, WIDTH), np.float32)
    writing[MARGIN:-MARGIN, 3 * MARGIN : -3 * MARGIN] = 1.0  # writing wherever the page is not held
    over, thumbs = {}, {}
    for name, cover in (("free", None), ("written", writing)):
        over[name] = thumbs[name] = 0
        for seed in range(40):
            frame, matrix = _photograph(np.random.default_rng(seed), page, writing=cover)
            skin = frame[..., 2].astype(int) - frame[..., 0].astype(int) > 40  # reddish, not grey paper
            thumbs[name] += skin.sum() > 500
            over[name] += (skin & (cv2.warpPerspective(writing, matrix, (WIDTH, HEIGHT)) > 0)).sum() > 50
    assert over["free"] >= 2 and over["written"] == 0  # without the writing to keep clear, thumbs cover some
    assert thumbs["written"] >= 2  # and pages are still held


def test_a_notebook_page_has_a_rule_under_each_line_of_writing(mnist):
    # What `bench_reader --notebook` reads: the digits' feet on the printed rules, as a notebook is written.
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[3, 2]], [[1, 0, 4]]], height=20, pen=2, paper="notebook", seed=1)
    right = slice(WIDTH // 2, WIDTH - MARGIN)  # beyond the writing: only paper and rules are there
    rows = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)[:, right].mean(axis=1)
    for line in scene.lines:
        top = min(t.box[1] for number in line for t in number)
        feet = max(t.box[1] + t.box[3] for number in line for t in number)
        assert rows[feet - 4 : feet + 5].min() < np.median(rows[top : feet - 4]) - 25  # a rule at the feet, none above them


def test_a_notebooks_rules_can_be_paler(mnist):
    from edge_mnist.camera.synth import write_page

    right = slice(WIDTH // 2, WIDTH - MARGIN)
    depth = {}
    for rules in (1.0, 0.5):
        scene = write_page(mnist, [[[3, 2]]], height=20, pen=2, paper="notebook", seed=1, rules=rules)
        rows = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)[:, right].mean(axis=1)
        depth[rules] = np.median(rows) - rows.min()  # how much darker than the paper the darkest rule is
    assert depth[1.0] > 25 and 0.3 * depth[1.0] < depth[0.5] < 0.7 * depth[1.0]
