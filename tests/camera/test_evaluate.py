from edge_mnist.camera.evaluate import TextScore, score_text


def test_a_perfect_reading():
    assert score_text("12 7\n305", "12 7/305") == TextScore(digits=6, read=6, extra=0, numbers=3, numbers_exact=3, lines=2, lines_exact=2)


def test_right_digits_without_structure_read_no_number_exactly():
    s = score_text("127305", "12 7/305")
    assert (s.read, s.extra, s.numbers_exact, s.lines_exact) == (6, 0, 0, 0)


def test_misread_digits_are_missed_not_extra_and_added_ones_are_extra():
    s = score_text("13 7 99", "12 7")
    assert (s.read, s.extra, s.numbers_exact) == (2, 2, 1)  # 1 and 7 read; 3 misread; the 99 is not there


def test_digits_out_of_order_count_once():
    assert score_text("21", "12").read == 1


def test_scores_add_up_and_rates_are_shares():
    total = score_text("12", "12") + score_text("", "34 5")
    assert (total.digits, total.read, total.numbers, total.numbers_exact) == (5, 2, 3, 1)
    assert total.read_rate == 0.4 and total.numbers_rate == 1 / 3 and total.extra_rate == 0.0
