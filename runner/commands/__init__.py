"""One module per `mmcheck` verb, each exposing `add_parser(subparsers)` and `run(args) -> int`.

Keep their top-level imports light (startup time counts: a TLC run is about a second); import
the heavy parts inside `run`.
"""
