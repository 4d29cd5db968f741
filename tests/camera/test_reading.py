"""Reading handwriting as people write it, through `edge-mnist read`: thin strokes, digits that touch,
dashes and commas between numbers, slanted lines, lines and numbers.

Each page is written by edge_mnist.camera.synth.write_page from MNIST test digits that the camera
model reads surely on their own, so a wrong answer here is the reader's layout or cutting, not the
classifier's handwriting skills."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clear(mnist, camera_cnn_int8):
    """digit -> the index of a test digit of that class the model reads right, at 0.95 or more, alone."""
    from edge_mnist.camera.preprocess import mnist_style
    from edge_mnist.camera.recognize import classify, load_classifier

    predictor = load_classifier(camera_cnn_int8)
    chosen = {}
    for digit in range(10):
        indices = np.nonzero(mnist.y_test == digit)[0][:50]
        crops = np.stack([mnist_style(_tight(mnist.x_test[i])) for i in indices])
        scores = classify(predictor, crops)
        sure = [i for i, s in zip(indices, scores) if s.argmax() == digit and s.max() >= 0.95]
        chosen[digit] = int(sure[0])
    return chosen


def _tight(image):
    ys, xs = np.nonzero(image > 30)
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _read(scene, model, tmp_path, *options):
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), scene.image)
    result = CliRunner().invoke(cli, ["read", str(path), "--model", str(model), "--json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _page(mnist, clear, text, **style):
    from edge_mnist.camera.synth import write_page

    lines = [[[clear[int(c)] for c in number] for number in line.split()] for line in text.split("/")]
    return write_page(mnist, lines, **style)


@pytest.mark.parametrize("pen", [1.0, 2.0])
def test_hairline_digits_a_hundred_pixels_tall_are_found_and_read(mnist, clear, camera_cnn_int8, tmp_path, pen):
    scene = _page(mnist, clear, "47192", height=110, pen=pen, spacing=0.25)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == scene.text == "47192"


def test_a_fat_markers_digits_held_close_are_found_whole(mnist, clear, camera_cnn_int8, tmp_path):
    # Strokes 42 px wide, more than the paper estimate reaches: read at half the size, one digit on
    # each written one, not the hollow outlines of its strokes. (How surely such fat strokes are read
    # is the classifier's part; the fixture model is too small to say, so every glyph is kept.)
    scene = _page(mnist, clear, "357", height=150, pen=42, spacing=0.2)
    record = _read(scene, camera_cnn_int8, tmp_path, "--min-confidence", "0")
    assert len(record["lines"]) == 1 and len(record["digits"]) == 3
    for digit, truth in zip(record["digits"], scene.truths):
        x, y, w, h = truth.box
        cx, cy = digit["box"][0] + digit["box"][2] / 2, digit["box"][1] + digit["box"][3] / 2
        assert x <= cx <= x + w and y <= cy <= y + h


def test_a_fat_markers_filled_loops_are_no_dots(mnist, camera_cnn_int8, tmp_path):
    # A solid round mark is a dot (or a punched hole) and is dropped. A fat marker fills a 0's loop all
    # but a small hole, and a 6's whole: as round and solid as a dot, but for the hole or the stem.
    # (MNIST's 5899 and 4394 in a 41 px marker: bench_reader's marker page 15.)
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[5899, 4394]]], height=125.1187, pen=41.2631, spacing=0.2, seed=15)
    record = _read(scene, camera_cnn_int8, tmp_path, "--min-confidence", "0")
    assert len(record["digits"]) == 2
    for digit, truth in zip(record["digits"], scene.truths):
        x, y, w, h = truth.box
        cx, cy = digit["box"][0] + digit["box"][2] / 2, digit["box"][1] + digit["box"][3] / 2
        assert x <= cx <= x + w and y <= cy <= y + h


@pytest.mark.parametrize("comb", [False, True])
def test_digits_written_in_the_printed_boxes_of_a_form_are_read_and_the_boxes_are_not(mnist, clear, camera_cnn_int8, tmp_path, comb):
    # Each digit in a box of its own, or in a comb of boxes sharing their sides (as long as a ruled
    # line, and turned with the page: its dividers must not be left behind as 1s).
    scene = _page(mnist, clear, "3052", height=60, pen=5, spacing=0.6)
    boxes = [(x - 10, y - 10, x + w + 10, y + h + 10) for x, y, w, h in (t.box for t in scene.truths)]
    if comb:
        top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
        edges = [boxes[0][0]] + [(a[2] + b[0]) // 2 for a, b in zip(boxes, boxes[1:])] + [boxes[-1][2]]
        boxes = [(a, top, b, bottom) for a, b in zip(edges, edges[1:])]
    for x0, y0, x1, y1 in boxes:
        cv2.rectangle(scene.image, (x0, y0), (x1, y1), (70, 70, 70), 2, cv2.LINE_AA)
    turned = cv2.warpAffine(scene.image, cv2.getRotationMatrix2D((320, 240), 4, 1.0), (640, 480), borderMode=cv2.BORDER_REPLICATE)
    assert _read(type(scene)(turned, scene.lines), camera_cnn_int8, tmp_path)["text"] == "3052"


def test_an_underlined_number_is_read_and_its_line_is_no_separator(mnist, clear, camera_cnn_int8, tmp_path):
    scene = _page(mnist, clear, "4071 28", height=60, pen=5, spacing=0.15)
    first = scene.lines[0][0]  # the line drawn under the first number, apart from its digits
    x0, x1 = first[0].box[0] - 15, first[-1].box[0] + first[-1].box[2] + 15
    y = max(t.box[1] + t.box[3] for t in first) + 8
    cv2.line(scene.image, (x0, y), (x1, y), (60, 60, 60), 2, cv2.LINE_AA)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == "4071 28"


def test_small_writing_is_read_at_twice_the_size(mnist, clear, camera_cnn_int8, tmp_path):
    # 16 px digits in a 1.5 px pen: at the frame's own size their strokes and gaps are a pixel or two.
    scene = _page(mnist, clear, "38 52/7604/19", height=16, pen=1.5, spacing=0.3)
    record = _read(scene, camera_cnn_int8, tmp_path)
    assert record["text"] == "38 52\n7604\n19"
    for digit, truth in zip(record["digits"], scene.truths):
        x, y, w, h = digit["box"]  # in the frame's pixels, not the enlarged copy's
        assert abs(x - truth.box[0]) <= 3 and abs(y - truth.box[1]) <= 3 and h <= 2 * truth.box[3]


def test_writing_on_squared_paper_is_read_and_the_grid_is_not(mnist, clear, camera_cnn_int8, tmp_path):
    # A printed grid of a square or so per digit: most of the ink on the page, every digit caught in its net.
    scene = _page(mnist, clear, "305 81/2749", height=40, pen=2.5, paper="squared", seed=2)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == "305 81\n2749"


def test_light_writing_on_a_dark_ground_is_read(mnist, clear, camera_cnn_int8, tmp_path):
    # Chalk on a board, or digits drawn white on black as MNIST stores them.
    scene = _page(mnist, clear, "52 807/196", height=60, pen=5)
    inverted = type(scene)(255 - scene.image, scene.lines)
    assert _read(inverted, camera_cnn_int8, tmp_path)["text"] == "52 807\n196"


def test_mnist_images_as_stored_are_read(mnist, clear, camera_cnn_int8, tmp_path):
    # 28x28, white on black: what many try first with an MNIST toolkit.
    for digit, index in clear.items():
        path = tmp_path / f"{digit}.png"
        cv2.imwrite(str(path), mnist.x_test[index])
        result = CliRunner().invoke(cli, ["read", str(path), "--model", str(camera_cnn_int8), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["text"] == str(digit)


def test_digits_of_three_lines_joined_through_small_marks_are_three_digits(mnist, clear, camera_cnn_int8, tmp_path):
    # A cramped page turned a little: a small mark between two rows (a 5's flag written apart, a dot)
    # joins the digits above and below it into one glyph, and two such marks make it three lines tall.
    scene = _page(mnist, clear, "46/83/29", height=50, pen=4, spacing=0.3)
    column = [line[0][0].box for line in scene.lines]
    for above, below in zip(column, column[1:]):
        x = (above[0] + above[2] // 2 + below[0] + below[2] // 2) // 2
        cv2.circle(scene.image, (x, (above[1] + above[3] + below[1]) // 2), 3, (30, 30, 30), -1, cv2.LINE_AA)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == "46\n83\n29"


@pytest.mark.parametrize("ink", [0, 255])
def test_a_digit_drawn_on_a_transparent_background_is_read(mnist, clear, camera_cnn_int8, tmp_path, ink):
    # What a drawing program saves: the digit in the alpha channel, black or white ink on nothing.
    for digit in (3, 7):
        drawn = np.full((280, 280, 4), ink, np.uint8)
        drawn[..., 3] = cv2.resize(mnist.x_test[clear[digit]], (280, 280), interpolation=cv2.INTER_LINEAR)
        path = tmp_path / f"{digit}.png"
        cv2.imwrite(str(path), drawn)
        result = CliRunner().invoke(cli, ["read", str(path), "--model", str(camera_cnn_int8), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["text"] == str(digit)


@pytest.mark.parametrize("text, height, pen", [("638 27/1450 9", 31, 1.5), ("4071 28/5936 12", 19, 2.0)])
def test_small_writing_sitting_on_a_notebooks_rules_is_read(mnist, clear, camera_cnn_int8, tmp_path, text, height, pen):
    # The digits' feet on the printed rules, their strokes as thin as the rules: the feet stay, and a
    # row of strokes bridged into one long piece is no rule.
    scene = _page(mnist, clear, text, height=height, pen=pen, spacing=0.2, paper="notebook")
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == text.replace("/", "\n")


@pytest.mark.parametrize("text, height, pen", [("4071 28/5936 12", 28, 2.0), ("52 807/196 3344", 25, 2.5)])
def test_writing_a_little_under_28_px_on_a_notebooks_rules_is_read_at_twice_the_size(mnist, clear, camera_cnn_int8, tmp_path, text, height, pen):
    # At the frame's own size a rule under such writing is as thick as its strokes.
    scene = _page(mnist, clear, text, height=height, pen=pen, spacing=0.2, paper="notebook")
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == text.replace("/", "\n")


@pytest.mark.parametrize("text, height, turn", [("4071 28/5936 12", 26, 0.0), ("52 807/196 3344", 22, 3.0)])
def test_pale_rules_in_dashes_under_dark_writing_are_erased(mnist, clear, camera_cnn_int8, tmp_path, text, height, turn):
    # Rules about as pale as the low share of the writing's level are in its mask only in dashes, none
    # long enough to be a rule, and the dashes under the digits' feet join them into other glyphs.
    scene = _page(mnist, clear, text, height=height, pen=2.0, spacing=0.2, turn=turn, paper="notebook", rules=0.77)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == text.replace("/", "\n")


@pytest.mark.parametrize("text, height, pen, turn, seed", [("6 880 5909/001 2100/5569 7212 3/9647 25 6", 27.4, 3.28, -2.4, 44), ("3158 625 91/3770 877/46 6577/8 4011 638", 18.4, 1.5, -2.9, 124)])
def test_the_paler_rules_of_a_notebook_are_erased_with_the_darker(mnist, clear, camera_cnn_int8, tmp_path, text, height, pen, turn, seed):
    # Small writing on a turned page: the rules are found, but stretches of them as pale as the mask's
    # level (a turned rule's antialiased steps) are left in dashes, and those under the digits join
    # their feet. (Found by bench_reader-style pages; without the second look for rules both misread.)
    scene = _page(mnist, clear, text, height=height, pen=pen, spacing=0.2, turn=turn, paper="notebook", seed=seed)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == text.replace("/", "\n")


def test_digits_that_touch_are_cut_apart(mnist, clear, camera_cnn_int8, tmp_path):
    scene = _page(mnist, clear, "10 24/38", height=70, pen=5, spacing=-0.08)
    touching = sum(a.box[0] + a.box[2] >= b.box[0] for line in scene.lines for number in line for a, b in zip(number, number[1:]))
    assert touching >= 2  # the page really has digits running into each other
    record = _read(scene, camera_cnn_int8, tmp_path)
    assert record["text"] == "10 24\n38"
    assert len(record["digits"]) == 6


def test_a_loop_written_in_two_strokes_beside_touching_loops_is_one_digit(mnist, clear, camera_cnn_int8, tmp_path):
    # 1000 with its 0s run together, the last 0 drawn as "(" and ")" that do not meet: the ")" is a
    # sliver of its own, which must go with the "(" cut from the 0s before it, not be read as a 1.
    scene = _page(mnist, clear, "1000", height=70, pen=5, spacing=-0.05)
    x, y, w, h = scene.lines[0][0][-1].box
    paper = np.median(scene.image[y - 10 : y - 2, x : x + w].reshape(-1, 3), axis=0)
    scene.image[y - 3 : y + h + 3, x + int(0.55 * w) : x + int(0.55 * w) + max(3, w // 10)] = paper
    record = _read(scene, camera_cnn_int8, tmp_path)
    assert record["text"] == "1000"


@pytest.mark.parametrize("separator", ["dash", "comma"])
def test_dashes_and_commas_separate_numbers_and_are_not_digits(mnist, clear, camera_cnn_int8, tmp_path, separator):
    # Digits spaced as widely as the separators' gaps: only the mark tells the numbers apart.
    scene = _page(mnist, clear, "12 345 6", height=60, pen=5, spacing=0.5, separator=separator)
    record = _read(scene, camera_cnn_int8, tmp_path)
    assert record["text"] == "12 345 6"
    assert [n["text"] for n in record["lines"][0]["numbers"]] == ["12", "345", "6"]


@pytest.mark.parametrize("turn", [-15, 12])
def test_a_slanted_line_is_one_line_in_order(mnist, clear, camera_cnn_int8, tmp_path, turn):
    scene = _page(mnist, clear, "3570 918", height=60, pen=5, spacing=0.2, turn=turn)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == "3570 918"


def test_lines_and_numbers_keep_the_writers_layout(mnist, clear, camera_cnn_int8, tmp_path):
    scene = _page(mnist, clear, "12 345/6 78/9014", height=55, pen=4, spacing=0.2)
    record = _read(scene, camera_cnn_int8, tmp_path)
    assert record["text"] == "12 345\n6 78\n9014"
    assert [[n["text"] for n in line["numbers"]] for line in record["lines"]] == [["12", "345"], ["6", "78"], ["9014"]]
    assert [d["label"] for d in record["digits"]] == [int(c) for c in "123456789014"]


def test_a_number_in_a_lighter_pen_beside_darker_writing_is_read(mnist, clear, camera_cnn_int8, tmp_path):
    # 807 at half the contrast of the rest, as a thinner or lighter pen leaves it: too faint alone to
    # tell from writing that shows through from the back of the page, but written on a line of writing.
    scene = _page(mnist, clear, "52 807/196", height=50, pen=3, spacing=0.3)
    paper = np.median(scene.image.reshape(-1, 3), axis=0)
    for truth in scene.lines[0][1]:
        x, y, w, h = truth.box
        region = scene.image[y - 2 : y + h + 2, x - 2 : x + w + 2].astype(np.float32)
        scene.image[y - 2 : y + h + 2, x - 2 : x + w + 2] = np.clip(paper + 0.5 * (region - paper), 0, 255).astype(np.uint8)
    assert _read(scene, camera_cnn_int8, tmp_path)["text"] == "52 807\n196"
