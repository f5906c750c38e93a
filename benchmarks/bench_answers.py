"""SMS webhook -> IRC PRIVMSG: latency at 50 answers/s, and answers delivered per second.

alice (registered) was just highlighted by bob, so her SMS answers go to bob. Flood
control off. This process is the daemon alone (both halves, as `highlightd run`
runs them): bob is an IRC client in a process of its own (apart.RemoteClient), the
webhooks come from loadgen.py in another, each prepared and signed beforehand, as
Twilio would post them. Times are time.monotonic, one clock for every process.
First the answers are posted at a steady 50/s (150 measured, MARGIN more before and
after them); then BURST at once, as fast as the daemon takes them: answers said on
IRC per second, from the first request to the last answer bob heard. This process's
CPU time per answer is printed beside it.
Counts: webhooks posted, 200s, PRIVMSGs, each answer once.

Run: .venv/bin/python benchmarks/bench_answers.py
"""

from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import urlencode

from apart import RemoteClient, RemoteTwilio
from common import cpu, load, percentile, row
from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, CHANNEL, FROM_NUMBER
from scene import Scene
from stage import staged

RATE, SECONDS = 50, 3.0
# Posted at the same rate before and after the measured ones, not measured: the first
# answers wait on ngircd, not on the daemon (it holds the 2nd and 3rd ~25 ms, Nagle's
# algorithm waiting for bob's delayed ACK of the 1st, as bob has sent nothing since;
# bob with TCP_QUICKACK hears them at once), and on code run for the first time; the
# last overlap the load client reporting and exiting, and this process polling bob.
MARGIN = 10
BURST, CONCURRENCY = 2_000, 16
PREFIX = "alice (SMS): "


def prepared(url: str, texts: list[str], first: int) -> list[tuple[str, str]]:
    """(body, signature) of alice's answers, as Twilio posts them."""
    requests = []
    for n, text in enumerate(texts, first):
        form = {"MessageSid": f"SM{n:032x}", "From": ALICE_PHONE, "To": FROM_NUMBER}
        form["Body"] = text
        requests.append((urlencode(form), twilio_signature(TEST_AUTH_TOKEN, url, form)))
    return requests


async def heard_all(
    bob: RemoteClient, texts: set[str], limit: float
) -> tuple[Counter[str], dict[str, float]]:
    """How often bob heard each answer, once he heard them all (and a moment more, for a
    duplicate to show); when he heard each first."""
    said: Counter[str] = Counter()
    first: dict[str, float] = {}
    async with asyncio.timeout(limit):
        while not texts <= said.keys():
            await asyncio.sleep(0.05)
            for text, at in await bob.heard():
                said[text.removeprefix(PREFIX)] += 1
                first.setdefault(text.removeprefix(PREFIX), at)
    await asyncio.sleep(0.5)
    for text, _at in await bob.heard():
        said[text.removeprefix(PREFIX)] += 1
    return said, first


async def steady(s: Scene, bob: RemoteClient) -> tuple[list[float], int, Counter[str]]:
    """Latencies at RATE/s; webhooks answered 200; how often each answer was said."""
    url = s.hl.base_url + "/twilio/sms"
    texts = [f"answer {i}" for i in range(int(RATE * SECONDS) + 2 * MARGIN)]
    posted = await load(url, prepared(url, texts, 10**5), 1, SECONDS + 30, rate=RATE)
    said, first = await heard_all(bob, set(texts), 30)
    latencies = [first[text] - at for text, at in zip(texts, posted.posted, strict=True)]
    return latencies[MARGIN:-MARGIN], posted.statuses.get(200, 0), said


async def burst(s: Scene, bob: RemoteClient) -> tuple[float, float, Counter[str], dict[int, int]]:
    """Answers said per second, CPU seconds per answer, each text's count, the statuses."""
    url = s.hl.base_url + "/twilio/sms"
    texts = [f"burst {n}" for n in range(BURST)]
    before = cpu()
    posted = await load(url, prepared(url, texts, 10**6), CONCURRENCY, 120.0)
    said, first = await heard_all(bob, set(texts), 120)
    last = max(first[text] for text in texts)
    used = cpu() - before  # the daemon's, with the 0.5 s wait for duplicates: idle
    return BURST / (last - posted.began), used / BURST, said, posted.statuses


async def main() -> None:
    async with staged(10_000, clients=(), apart=True) as (s, twilio):
        assert isinstance(twilio, RemoteTwilio)
        network = s.settings.networks[0]
        async with RemoteClient(network.host, network.port, CHANNEL, "bob") as bob:
            await bob.say(1, ["alice: hi"])  # her answers now go to bob
            await twilio.wait_for_messages(1)
            latencies, answered, said = await steady(s, bob)
            rate, cpu_each, seen, statuses = await burst(s, bob)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print("this process is the daemon alone; bob and the webhooks' client are apart")
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p50", f"{p50 * 1e3:.1f} ms", "")
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p99", f"{p99 * 1e3:.1f} ms",
        f"{p99 / 0.005:.1f}x the 5 ms floor")  # fmt: skip
    print(f"  counts: {len(latencies)} measured of {len(said)} webhooks, {answered} answered "
          f"200, {sum(said.values())} PRIVMSGs")  # fmt: skip
    row(f"answers delivered, {BURST} at once", f"{rate:,.0f} /s", f"{rate / 1000:.0%} of 1,000/s")
    row("  daemon CPU per answer (both halves)", f"{cpu_each * 1e6:,.0f} us", "")
    twice = sum(1 for n in seen.values() if n > 1)
    print(f"  counts: {BURST} webhooks, answers {statuses}, {len(seen)} said, {twice} twice")
    lost_or_twice = (
        len(said) != len(latencies) + 2 * MARGIN or any(n > 1 for n in said.values())
        or len(seen) != BURST or twice or statuses.get(200) != BURST
        or answered != len(said)
    )  # fmt: skip
    if lost_or_twice:
        raise SystemExit("an answer was lost or duplicated")


if __name__ == "__main__":
    asyncio.run(main())
