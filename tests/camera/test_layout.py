import math

import numpy as np

from edge_mnist.camera.layout import build_lines, extent, group_pieces, split_numbers, writing_angle


def test_lines_run_left_to_right_and_top_to_bottom():
    # Two handwritten lines: digits sit a little higher or lower than each other; the first line is shorter.
    boxes = [(300, 52, 30, 40), (40, 40, 30, 50), (170, 45, 30, 45), (250, 160, 30, 40), (60, 150, 30, 50), (400, 158, 30, 44)]
    lines, _ = build_lines(boxes)
    assert lines == [[1, 2, 0], [4, 3, 5]]


def test_a_slanted_line_is_one_line_and_its_angle_is_measured():
    # Six digits down a 30-degree slope, 50 px tall, 45 px apart: by height alone they would be six lines.
    slope = math.radians(30)
    boxes = [(int(20 + i * 45 * math.cos(slope)), int(40 + i * 45 * math.sin(slope)), 30, 50) for i in range(6)]
    lines, angles = build_lines(boxes)
    assert lines == [[0, 1, 2, 3, 4, 5]]
    assert abs(angles[0] - slope) < math.radians(3)
    assert abs(writing_angle(boxes) - slope) < math.radians(3)


def test_a_line_on_an_arc_holds_together():
    boxes = []
    for i in range(7):  # rising from flat to about 35 degrees
        angle = math.radians(-6 * i)
        x = 30 + sum(48 * math.cos(math.radians(-6 * k)) for k in range(i))
        y = 300 + sum(48 * math.sin(math.radians(-6 * k)) for k in range(i))
        boxes.append((int(x), int(y), 32, 50))
    lines, _ = build_lines(boxes)
    assert lines == [list(range(7))]


def _spans(boxes):
    return [extent(b, np.array([1.0, 0.0], np.float32)) for b in boxes]


def test_numbers_split_at_gaps_wide_for_their_line():
    h = 50

    def row(xs):
        return _spans([(x, 100, 30, h) for x in xs])

    # tight digits, then a gap three times wider: two numbers
    assert split_numbers(row([0, 40, 80, 200, 240]), h, []) == [[0, 1, 2], [3, 4]]
    # evenly spaced digits a digit-height apart: one number, however far apart
    assert split_numbers(row([0, 80, 160, 240]), h, []) == [[0, 1, 2, 3]]
    # two digits: judged against the usual gap, a small space is one number, a wide one two
    assert split_numbers(row([0, 45]), h, []) == [[0, 1]]
    assert split_numbers(row([0, 100]), h, []) == [[0], [1]]


def test_a_dash_between_digits_separates_numbers():
    digits = _spans([(0, 100, 30, 50), (60, 100, 30, 50), (120, 100, 30, 50), (180, 100, 30, 50)])  # evenly spaced
    dash = _spans([(95, 125, 20, 5)])
    assert split_numbers(digits, 50, dash) == [[0, 1], [2, 3]]
    assert split_numbers(digits, 50, []) == [[0, 1, 2, 3]]


def test_pieces_stacked_in_one_digit_join_and_digits_side_by_side_do_not():
    five_body, five_flag = (100, 120, 40, 45), (110, 100, 35, 10)  # a 5 whose flag was written apart
    seven, one_under_its_bar = (200, 100, 45, 60), (235, 108, 8, 52)  # a 7 whose bar reaches over the next 1
    pair = [(300, 100, 30, 50), (334, 102, 30, 50)]  # two digits close side by side
    groups = group_pieces(np.array([five_body, five_flag, seven, one_under_its_bar, *pair]))
    assert sorted(sorted(g) for g in groups) == [[0, 1], [2], [3], [4], [5]]


def test_a_line_under_a_number_joins_none_of_its_digits():
    digits = [(100, 100, 30, 50), (140, 102, 30, 50), (180, 100, 30, 50)]
    underline = (90, 158, 130, 4)  # below the digits, wider than one and a half of their heights
    flag = (104, 92, 30, 6)  # a broken-off stroke over the first digit still joins it
    groups = group_pieces(np.array([*digits, underline, flag]))
    assert sorted(sorted(g) for g in groups) == [[0, 4], [1], [2], [3]]
