"""Write a camera-like labelled image set and its video from MNIST *test* digits (seeded).

    python scripts/make_camera_data.py OUT_DIR [--frames 40 --min-digits 5 --max-digits 10 --seed 0 --papers white,ruled,squared --no-video]

OUT_DIR gets frame_NNNN.jpg (640x480), labels.json (label, ink box and MNIST test index of every
digit) and digits.avi (the same frames as Motion-JPEG). Read them back with
`edge-mnist camera --source OUT_DIR/digits.avi` or `--source OUT_DIR`.
"""
import argparse

from edge_mnist.camera.synth import PAPERS, make_dataset
from edge_mnist.data import load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--min-digits", type=int, default=5)
    parser.add_argument("--max-digits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--papers", default=",".join(PAPERS), help="Paper kinds to draw from: white, grey, yellow, ruled, squared.")
    parser.add_argument("--no-video", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.min_digits <= args.max_digits or args.frames < 1:
        parser.error("need --frames >= 1 and 1 <= --min-digits <= --max-digits")
    papers = tuple(args.papers.split(","))
    if not set(papers) <= {*PAPERS, "squared"}:
        parser.error(f"unknown paper in --papers {args.papers!r}; known: {', '.join(PAPERS)}, squared")
    labels = make_dataset(args.out_dir, load_mnist(), frames=args.frames, digits=(args.min_digits, args.max_digits), seed=args.seed, video=not args.no_video, papers=papers)
    print(f"wrote {args.frames} frames and {labels}")


if __name__ == "__main__":
    main()
