"""Serve a policy over the users' API: `VLA_API_KEY=... python eval/serve.py --port 8000`.

GET /health, POST /predict (base64 JPEG + instruction -> [lx, ly] in /cmd_vel units), POST /reset, the key in
the X-API-Key header (403 otherwise); see agents/serving.py. Their Jetson client, or `rollout.py --agent remote
--url http://HOST:PORT`, can drive it. With no --checkpoint it serves the shipped default; on the GPU if there is one.
Each robot keeps its own history (its `session` field, else its address); the limits and session rules are flags.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Load the policy, build the app and run it under uvicorn until Ctrl-C."""
    from agents.serve_settings import ServeSettings, check_api_key

    parser = CommandParser(prog="serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="policy checkpoint (.safetensors, or a RoboVLMs .ckpt); default: the "
                                             "shipped one")
    parser.add_argument("--robovlms-config", help="the training JSON of a RoboVLMs .ckpt (default: its stored copy)")
    parser.add_argument("--precision", help="run the checkpoint in fp32, bf16, fp16, int8-text or int8 (default: as "
                                            "stored; `benchmark.py runtimes` compares them)")
    parser.add_argument("--model-name", help="the name /health and every answer give (default: the checkpoint's "
                                             "file name, never its folder)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int_at_least(1), default=8000)
    parser.add_argument("--api-key-env", default="VLA_API_KEY", help="environment variable holding the API key")
    parser.add_argument("--cmd-vel-scale", type=float, default=1.15,
                        help="/cmd_vel units per normalized action (their robot: 1.15)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when there is one)")
    limits = parser.add_argument_group("limits and sessions")
    for f in dataclasses.fields(ServeSettings):
        limits.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                            help=f"{f.metadata['help']} (default {f.default})")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    settings = ServeSettings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServeSettings)})
    key = os.environ.get(args.api_key_env)
    if key is None:
        parser.error(f"set {args.api_key_env} to the API key clients must send")
    check_api_key(key, where=args.api_key_env)
    import torch
    import uvicorn

    from agents.serving import make_app
    from vla_model.loading.sequence import load_policy

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    policy = load_policy(args.checkpoint, device=device, robovlms_config=args.robovlms_config,
                         precision=args.precision)
    name = args.model_name or (Path(args.checkpoint).name if args.checkpoint else "shipped default")
    app = make_app(policy, key, model_name=name, cmd_vel_scale=args.cmd_vel_scale, settings=settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    print(f"serving {name} on http://{args.host}:{args.port} ({device}); key from {args.api_key_env}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", limit_concurrency=settings.max_connections)
    return 0


if __name__ == "__main__":
    sys.exit(run_command("serve.py", main))
