"""`make run`: serve the whole API on 127.0.0.1:$PORT against the embedded AWS stand-in."""

from __future__ import annotations

import json
import os
import secrets
import sys

from chalicelib.local.runtime import LOCAL_RETRY_DELAYS_S, LOCAL_STREAM_RETRIES, LocalRuntime


def main() -> int:
    admin_key = os.environ.get("LASTMILE_ADMIN_KEY") or "lmadm_" + secrets.token_urlsafe(24)
    runtime = LocalRuntime(
        port=int(os.environ.get("PORT", "8000")),
        admin_key=admin_key,
        stripe_secret=os.environ.get("STRIPE_WEBHOOK_SECRET")
        or "whsec_local_" + secrets.token_hex(16),
        seed=os.environ.get("LASTMILE_SEED", "demo") != "none",
        retry_delays_s=os.environ.get("LASTMILE_NOTIFY_RETRY_DELAYS_S", LOCAL_RETRY_DELAYS_S),
        stream_retries=int(os.environ.get("LASTMILE_LOCAL_STREAM_RETRIES", LOCAL_STREAM_RETRIES)),
    ).start()
    info = runtime.describe()
    print(runtime.banner(), flush=True)
    print("LASTMILE_READY " + json.dumps(info), flush=True)
    try:
        runtime.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
