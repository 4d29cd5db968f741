import numpy as np
import pytest

from edge_mnist.camera.preprocess import PreprocessConfig, Threshold, find_ink, mnist_style, width_at_40

cv2 = pytest.importorskip("cv2")


def _tight(image):
    ys, xs = np.nonzero(image)
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _centre_of_mass(image):
    m = cv2.moments(image)
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def test_mnist_style_remakes_mnist_geometry(mnist):
    """Cut an MNIST digit out, blow it up, and mnist_style must put it back as MNIST had it."""
    for digit in mnist.x_test[:50]:
        big = cv2.resize(_tight(digit), None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
        out = mnist_style(big, normalize_stroke=False)
        ink = _tight(out > 30)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        assert 19 <= max(ink.shape) <= 21  # longer side 20 px
        cx, cy = _centre_of_mass(out)
        assert abs(cx - 14) < 0.6 and abs(cy - 14) < 0.6
        assert np.corrcoef(out.ravel(), digit.ravel().astype(np.float32))[0, 1] > 0.8


def test_stroke_normalisation_leaves_mnists_own_strokes_alone(mnist):
    same = [
        np.corrcoef(mnist_style(cv2.resize(_tight(d), None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)).ravel(), d.ravel().astype(np.float32))[0, 1] > 0.8
        for d in mnist.x_test[:200]
    ]
    assert np.mean(same) >= 0.9


def _width(image):
    return width_at_40(_tight(image))


@pytest.mark.parametrize("pen", [1, 3, 60])
def test_hairlines_and_markers_come_out_as_mnist_writes(mnist, pen):
    """A 7 drawn 150 px tall with a hairline, a fine pen and a fat marker: each leaves mnist_style solid and
    as wide as MNIST's own strokes (its 5th-95th percentile, measured the same way)."""
    low, high = np.percentile([_width(d) for d in mnist.x_test[:1000]], [5, 95])
    canvas = np.zeros((240, 180), np.uint8)
    cv2.polylines(canvas, [np.array([[40, 40], [140, 40], [70, 200]])], False, 255, pen)
    seven = _tight(canvas)  # the reader crops tight
    out, plain = mnist_style(seven), mnist_style(seven, normalize_stroke=False)
    assert out.max() >= 200 and low <= _width(out) <= 1.05 * high
    if pen == 1:
        assert plain.max() < 100  # without the normalisation: a faint trace


def _page(mnist, light_ramp=0.0, ink=30):
    """A gray page (dark ink on white) with three MNIST digits."""
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    page = 215 * (1 - light_ramp * xx / 640)
    spots = [(100, 150), (300, 160), (480, 300)]
    for i, (x, y) in enumerate(spots):
        _paste(page, mnist.x_test[i], x, y, ink)
    return page, spots


def _paste(page, digit, x, y, ink, size=84):
    digit = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    patch = page[y : y + size, x : x + size]
    page[y : y + size, x : x + size] = patch * (1 - np.clip(digit, 0, 1)) + ink * np.clip(digit, 0, 1)


def _boxes_inside(ink, spots, size=84):
    found = []
    for x, y in spots:
        inside = [b for b in ink.boxes if x <= b[0] and b[0] + b[2] <= x + size and y <= b[1] and b[1] + b[3] <= y + size]
        found.append(bool(inside))
    return found


@pytest.mark.parametrize("threshold", list(Threshold))
def test_find_ink_finds_the_digits_and_not_what_the_frame_edge_cuts(mnist, threshold):
    page, spots = _page(mnist)
    page[0:200, 0:25] = 30  # cut by the frame edge
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8), PreprocessConfig(threshold=threshold))
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert all(b[0] > 0 for b in ink.boxes)  # the edge piece is gone


def test_ink_survives_a_lighting_gradient(mnist):
    page, spots = _page(mnist, light_ramp=0.7)  # the right side of the page is in deep shadow
    assert _boxes_inside(find_ink(np.clip(page, 0, 255).astype(np.uint8)), spots) == [True, True, True]


def test_writing_that_shows_through_the_page_is_not_ink(mnist):
    """Dark digits on the front, a faint mirrored one from the back: only the front counts."""
    page, spots = _page(mnist)
    _paste(page, mnist.x_test[5][:, ::-1], 300, 330, ink=150)  # show-through: a third as dark, mirrored
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots + [(300, 330)]) == [True, True, True, False]


def test_ruled_lines_are_erased_and_digits_on_them_kept(mnist):
    page, spots = _page(mnist)
    for y in (234, 384):  # two rules through the lower digits, slightly tilted, across the page
        cv2.line(page, (0, y), (639, y + 12), 90, 2)
    cv2.line(page, (60, 0), (62, 479), 110, 2)  # a margin
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert max(b[2] for b in ink.boxes) < 100 and max(b[3] for b in ink.boxes) < 100  # no rule left


def test_cramped_rules_running_into_the_desk_at_the_frames_edge_are_erased(mnist):
    # Rules every 14 px and a strip of desk beside and below the page, too narrow for the paper estimate
    # to take for paper: rules, desk and writing make one net filling a quarter of the frame.
    page, spots = _page(mnist)
    for y in range(6, 480, 14):
        cv2.line(page, (0, y), (639, y + 4), 120, 2)
    page[:, :16] = 60
    page[-16:, :] = 60
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert max(b[2] for b in ink.boxes) < 100  # no rule left


def test_a_ruled_line_near_the_top_of_the_frame_is_erased_from_the_writing_on_it(mnist):
    # The frame's only rule, and the digits on it, well above its middle: no net of rules reaches the
    # middle of the frame, yet the rule must not join the digits into one wide piece.
    page = np.full((480, 640), 215, np.float32)
    spots = [(100, 40), (200, 44), (300, 48)]
    for i, (x, y) in enumerate(spots):
        _paste(page, mnist.x_test[i], x, y, ink=30)
    cv2.line(page, (0, 84), (639, 96), 140, 2)
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert max(b[2] for b in ink.boxes) < 100  # no rule left


def test_a_rule_broken_into_stretches_is_erased_under_the_digits_on_it(mnist):
    # A faint rule on a turned page breaks into stretches: one long enough to be found as a rule, the
    # rest too short, and digits sit on those. The stretches continue the rule: erased too.
    page = np.full((480, 640), 215, np.float32)
    for x0, x1 in ((0, 330), (352, 440), (462, 550), (572, 639)):
        cv2.line(page, (x0, 300 + x0 // 30), (x1, 300 + x1 // 30), 140, 1, cv2.LINE_AA)
    spots = [(350, 242), (460, 246)]
    for i, (x, y) in enumerate(spots):
        _paste(page, mnist.x_test[i], x, y, ink=30)
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True]
    assert len(ink.boxes) == 2  # the digits alone, no stretch of the rule left


def test_digits_stacked_in_a_column_on_ruled_paper_are_no_margin(mnist):
    # A cramped list of numbers: the 1s under each other, rows closer than a rule's bridged gaps, line
    # up as a dashed vertical line through the rules. It must not be erased as a margin.
    def page(ruled):
        page, spots = np.full((480, 640), 215, np.float32), []
        ones, others = np.nonzero(mnist.y_test == 1)[0][:5], [np.nonzero(mnist.y_test == d)[0][0] for d in (4, 7, 8, 0, 9)]
        for row, y in enumerate(range(30, 440, 40)):
            for x, index in ((200, others[row % 5]), (240, ones[row % 5]), (280, others[(row + 2) % 5])):
                _paste(page, mnist.x_test[index], x, y, ink=30, size=36)
                spots.append((x, y))
            if ruled:
                cv2.line(page, (0, y + 32), (639, y + 34), 140, 1, cv2.LINE_AA)
        return find_ink(np.clip(page, 0, 255).astype(np.uint8)).mask, spots

    (plain, spots), (ruled, _) = page(False), page(True)
    kept = [np.count_nonzero(ruled[y : y + 36, x : x + 36]) / np.count_nonzero(plain[y : y + 36, x : x + 36]) for x, y in spots]
    assert min(kept) >= 0.9  # every digit whole, the 1s included


@pytest.mark.parametrize("step", [14, 21])
def test_a_printed_grid_under_the_writing_is_not_ink(mnist, step):
    """Squared paper filling the frame: a net of printed lines, denser than ruled lines and reaching every
    edge, holds the digits in it. The digits are ink, the grid is not."""
    page, spots = _page(mnist)
    for at in range(5, 640, step):
        cv2.line(page, (0, at), (639, at), 150, 1, cv2.LINE_AA)
        cv2.line(page, (at, 0), (at, 479), 150, 1, cv2.LINE_AA)
    page = cv2.GaussianBlur(page, (0, 0), 0.7)  # as a lens draws a printed line
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert max(b[2] for b in ink.boxes) < 100 and max(b[3] for b in ink.boxes) < 100  # no net of lines left


def test_two_grid_lines_joined_by_the_writing_across_them_are_both_erased(mnist):
    # Small writing across squared paper, read at twice the size: a number's strokes join two
    # neighbouring lines of the grid into one piece, hollow across. Followed as one line, neither was
    # erased, and both were kept as long 1s.
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[4731, 5118, 7551, 9504], [348, 1441, 8229, 9486]]], height=14, pen=1.0, paper="squared", seed=1)
    ink = find_ink(scene.image, zoom=2)
    kept = np.isin(ink.labels, ink.ids)
    assert kept.mean(axis=0).max() <= 0.5 and kept.mean(axis=1).max() <= 0.5  # no line of the grid left as writing


@pytest.mark.parametrize("tilt", [0, 20])
def test_a_dense_grid_holding_the_writing_is_erased(mnist, tilt):
    # A school maths book's 5 mm squares: the grid fills a fifth of its box, so it is no sparse net of
    # rules, and it is most of the ink on the page. Turned a little, its erasure leaves bits behind.
    page, spots = _page(mnist)
    for at in range(-55, 700, 12):
        cv2.line(page, (0, at), (639, at + tilt), 120, 1, cv2.LINE_AA)
        cv2.line(page, (at + tilt, 0), (at, 479), 120, 1, cv2.LINE_AA)
    page = cv2.GaussianBlur(page, (0, 0), 0.7)
    ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
    assert _boxes_inside(ink, spots) == [True, True, True]
    # Nor its bits between the digits: the writing's level is measured above the grid's contrast.
    outside = [b for b in ink.boxes if not any(x - 5 <= b[0] and b[0] + b[2] <= x + 89 and y - 5 <= b[1] and b[1] + b[3] <= y + 89 for x, y in spots)]
    assert not outside


def test_big_digits_in_a_small_frame_are_no_ruled_lines():
    # A pen's strokes a third of the frame tall are as long as a rule there, and a thin digit fills its
    # narrow box as densely as a grid fills the page: only a net across the frame may be that dense.
    page = np.full((240, 320), 200, np.uint8)
    cv2.line(page, (40, 70), (40, 160), 30, 3)  # a 1
    cv2.circle(page, (140, 95), 22, 30, 3)  # a 9
    cv2.line(page, (162, 95), (158, 165), 30, 3)
    cv2.line(page, (250, 70), (228, 135), 30, 3)  # a 4
    cv2.line(page, (228, 135), (280, 135), 30, 3)
    cv2.line(page, (265, 100), (262, 168), 30, 3)
    ink = find_ink(page)
    heights = sorted(b[3] for b in ink.boxes)
    assert len(heights) == 3 and heights[0] >= 65  # three whole digits, none with its long stroke erased


def test_a_marker_a_third_of_the_digits_height_wide_is_solid_ink(mnist):
    # 60 px strokes that overlap into blobs 100 px and more wide: read at half the size they still show
    # hollow (the paper estimate takes their middles for paper), so a 640x480 frame is read at a quarter.
    from edge_mnist.camera.synth import write_page

    six, zero = (int(np.nonzero(mnist.y_test == d)[0][0]) for d in (6, 0))
    scene = write_page(mnist, [[[six, zero]]], height=200, pen=60, spacing=0.2)
    ink = find_ink(scene.image)
    gray = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)
    mask = cv2.resize(ink.mask, gray.shape[::-1], interpolation=cv2.INTER_NEAREST)
    assert np.mean(mask[gray < 100] > 0) >= 0.95


@pytest.mark.parametrize("index, height, pen", [(1912, 174, 47), (1291, 221, 66)])
def test_a_fat_markers_digit_is_no_net_of_rules(mnist, index, height, pen):
    # Read at half size, a fat 8 or 3 spans a third of the frame both ways, and its strokes leave little
    # paper in its box: no dense net of rules to be erased from it (bench_reader's marker pages 50, 54).
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[index]]], height=height, pen=pen, spacing=0.2)
    ink = find_ink(scene.image)
    x, y, w, h = scene.truths[0].box
    assert len(ink.boxes) == 1
    bx, by, bw, bh = (v * ink.scale for v in ink.boxes[0])
    assert bx <= x + 0.1 * w and by <= y + 0.1 * h and bx + bw >= x + 0.9 * w and by + bh >= y + 0.9 * h  # the whole digit


def test_the_writings_level_is_measured_above_what_is_left_of_a_grid():
    # After a grid is erased, its bits look written too and can outnumber the writing: the level
    # must still be the writing's, or the bits pass for ink and faint writing is judged against them.
    from edge_mnist.camera.preprocess import _writing_level, components

    contrast = np.zeros((240, 320), np.uint8)
    for y in range(10, 230, 10):  # bits of a printed grid, faint, all over the page
        for x in range(10, 310, 10):
            contrast[y : y + 8, x : x + 2] = 70
    for x in (40, 140, 240):  # three digits' worth of dark strokes
        contrast[100:130, x : x + 3] = 220
        contrast[100:103, x : x + 20] = 220
    _, labels, stats = components((contrast > 30).astype(np.uint8))
    assert _writing_level(contrast, labels, stats, PreprocessConfig()) >= 200


def test_a_blank_frame_an_overexposed_and_a_black_one_have_no_ink():
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(200, 3, (480, 640, 3)), 0, 255).astype(np.uint8)  # paper texture and sensor noise only
    for frame in (paper, np.full((480, 640, 3), 255, np.uint8), np.zeros((480, 640, 3), np.uint8)):
        assert len(find_ink(frame).boxes) == 0


def test_a_huge_frame_is_read_at_a_bounded_size(mnist):
    page, spots = _page(mnist)
    huge = cv2.resize(np.clip(page, 0, 255).astype(np.uint8), (8000, 6000), interpolation=cv2.INTER_LINEAR)
    ink = find_ink(huge)
    assert max(ink.mask.shape) == PreprocessConfig().max_side and ink.scale == pytest.approx(5.0)
    assert len(ink.boxes) == 3


def test_zoom_reads_at_twice_the_size_and_keeps_the_way_back_to_the_frame(mnist):
    page, spots = _page(mnist)
    frame = np.clip(page, 0, 255).astype(np.uint8)
    ink, zoomed = find_ink(frame), find_ink(frame, zoom=2)
    assert zoomed.mask.shape == (2 * frame.shape[0], 2 * frame.shape[1]) and zoomed.scale == 0.5 and zoomed.zoom == 2
    assert len(zoomed.boxes) == len(ink.boxes) == 3
    assert np.abs(zoomed.boxes * zoomed.scale - ink.boxes).max() <= 1.5  # the same pieces, back in frame pixels


def _marker_page(mnist, pen, shadow=False):
    """Two MNIST test digits redrawn 190 px tall with a round pen `pen` px wide (a marker held close)."""
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[3, 2]]], height=190, pen=pen, spacing=0.3)
    frame = scene.image.astype(np.float32)
    if shadow:  # a hard shadow across the page, from the top edge to the bottom one
        yy, xx = np.mgrid[0:480, 0:640]
        frame[xx < 200 + yy // 3] *= 0.55
    return np.clip(frame, 0, 255).astype(np.uint8), scene


def test_strokes_wider_than_the_paper_estimate_are_read_whole_at_half_size(mnist):
    frame, scene = _marker_page(mnist, pen=42)  # strokes wider than the 36 px the paper estimate reaches
    ink = find_ink(frame)
    assert ink.scale == 2.0  # read at half the size...
    assert len(ink.boxes) == 2  # ...one solid piece per digit, not the hollow outlines of its strokes
    for box, truth in zip(sorted(map(tuple, ink.boxes * ink.scale)), scene.truths):
        assert abs(box[0] - truth.box[0]) <= 6 and abs(box[3] - truth.box[3]) <= 12


@pytest.mark.parametrize("pen, shadow", [(3, False), (10, False), (3, True)])
def test_pens_the_paper_estimate_reaches_and_a_hard_shadow_are_read_at_full_size(mnist, pen, shadow):
    frame, _ = _marker_page(mnist, pen=pen, shadow=shadow)
    ink = find_ink(frame)
    assert ink.scale == 1.0 and len(ink.boxes) == 2


def test_printed_boxes_around_the_digits_are_not_ink(mnist):
    """A form: each digit written in a printed box of its own, the page a little turned. The digits
    are ink; the boxes (which would be read as 1s and 0s) are not."""
    page, spots = _page(mnist)
    for x, y in spots:
        cv2.rectangle(page, (x - 10, y - 10), (x + 84 + 10, y + 84 + 10), 70, 2)
    frame = np.clip(page, 0, 255).astype(np.uint8)
    for turn in (0, 5):
        turned = cv2.warpAffine(frame, cv2.getRotationMatrix2D((320, 240), turn, 1.0), (640, 480), borderMode=cv2.BORDER_REPLICATE)
        ink = find_ink(turned)
        assert len(ink.boxes) == 3 and max(ink.boxes[:, 3]) < 90  # the digits alone, not their 104 px boxes


@pytest.mark.parametrize("slope, blur", [(0.2, 0.8), (0.35, 0.5)])
def test_the_pages_edge_against_the_desk_leaves_no_slivers(mnist, slope, blur):
    """The page's edge runs slanted through the frame with the desk beyond it. Where the paper estimate
    meets the desk it leaves a thin band of contrast that breaks into slivers inside the frame, which
    would be read as 1s; they have desk, not paper, on one side."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    page = np.where(xx < 560 - slope * yy, 167.0, 80.0).astype(np.float32)
    spots = [(60, 100), (200, 110), (120, 300)]
    for i, (x, y) in enumerate(spots):
        _paste(page, mnist.x_test[i], x, y, ink=110)  # a light pen: the band is as strong as the writing
    page = cv2.GaussianBlur(page, (0, 0), blur) + rng.normal(0, 2, page.shape)
    frame = cv2.imdecode(cv2.imencode(".jpg", np.clip(page, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_GRAYSCALE)
    ink = find_ink(frame)
    assert _boxes_inside(ink, spots) == [True, True, True]
    assert len(ink.boxes) == 3  # nothing along the edge
