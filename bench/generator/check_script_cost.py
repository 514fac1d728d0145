#!/usr/bin/env python3
"""The check script's cost inside Redis, apart from the network and the generator.

Loads lua/lib.lua + lua/check.lua as the generator does, writes N pending verifications (keys
under `otpbench:`), pipes N first-try correct checks through `redis-cli --pipe`, and prints
EVALSHA's usec_per_call from INFO commandstats (Redis's own timing of each call, the commands the
script calls included), then deletes its keys. Resets the server's command statistics.

usage: check_script_cost.py REDIS_PORT [N] [SCRIPT]   (SCRIPT: another check.lua to compare)
"""
import pathlib
import subprocess
import sys

LUA = pathlib.Path(__file__).resolve().parents[2] / "services" / "generator" / "lua"


def cli(port, *args, data=None):
    run = subprocess.run(["redis-cli", "-p", str(port), *args], input=data, capture_output=True,
                         check=True)
    return run.stdout.decode().strip()


def command(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        part = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    script = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else LUA / "check.lua"
    sha = cli(port, "SCRIPT", "LOAD", (LUA / "lib.lua").read_text() + script.read_text())
    hmac = "3f" * 32
    key = lambda i: "otpbench:{t:%d}:v" % i  # noqa: E731
    cli(port, "--pipe", data=b"".join(
        command("HSET", key(i), "status", "pending", "attempts", "0", "max_attempts", "5",
                "expires_at_ms", "99999999999999", "hmac", hmac, "key_id", "k1")
        for i in range(n)))
    cli(port, "CONFIG", "RESETSTAT")
    cli(port, "--pipe", data=b"".join(
        command("EVALSHA", sha, "2", key(i), "otpbench:{t:%d}:fails" % i, hmac, "k1",
                "req-%d" % i, "100", "60000", "3600000") for i in range(n)))
    stats = cli(port, "INFO", "commandstats")
    cli(port, "EVAL", "for _, k in ipairs(redis.call('KEYS', 'otpbench:*')) do "
        "redis.call('DEL', k) end", "0")
    for line in stats.splitlines():
        if line.startswith("cmdstat_evalsha:"):
            fields = dict(part.split("=") for part in line.split(":", 1)[1].split(","))
            print(f"check script: {fields['calls']} calls, {fields['usec_per_call']} us per call "
                  f"inside Redis ({script.name})")
            return 0
    print("check script: no EVALSHA statistics", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
