#!/usr/bin/env python3
"""bench/e2e/report.py - the arithmetic and the cross-checks of bench/e2e/run (standard library only).

A figure is printed only after it has been checked against a source that does not depend on
iomtflow's counters; a failed check prints `FAIL: ...` on stderr and exits 1, and bench/e2e/run
stops there without printing the `e2e:` lines.

  report.py fhir-state --base URL --admin URL --out STATE.json
      The FHIR server's own view: its Observation count (GET {base}/Observation?_summary=count) and
      its request counters (GET {admin}/admin/stats), with the time they were read.
  report.py idle --metrics URL --deadline UNIX_S [--what TEXT]
      Waits until iomtflow has nothing in flight (the gauges iomtflow_buffer_lag_events,
      iomtflow_pending_measurements, iomtflow_queue_depth and iomtflow_waiting_events all 0, twice
      in a row, 0.25 s apart) and prints the unix time it was first seen so; exit 1 at the deadline.
  report.py ceiling --name N --loadgen LINE --status RC --before S0.json --after S1.json
                    --fhir-cpu F0 F1 --clk-tck HZ --bundle B --out C.json
      One FHIR write-ceiling run of the load generator (`iomtflow-loadgen ceiling`), on an empty
      store: its Observations/s, checked against the FHIR server's count of stored Observations.
  report.py phase --name N --m0 M0 --m3 M3 --t0 T0 --t3 T3 --before S0.json --after S3.json
                  --loadgen LINE --status RC --cpu C0 C3 --fhir-cpu F0 F3 --clk-tck HZ --hwm-kb KB
                  --per-request N --bundle B [--target-rate R --tail-limit S] --out PHASE.json
      One measured load run against iomtflow, from idle to idle: M0 = /metrics (S0 = the FHIR
      server's counts) just before the load generator starts at T0; M3 (S3) once iomtflow has
      finished every event it accepted, which it was first seen to have at T3 (unix seconds; C, F:
      CPU ticks of iomtflow and of the FHIR server at T0 and T3). R: the pace of a latency run, which
      must have been sent, and iomtflow must have finished within S s after the load.
  report.py final --quantity Q.json --quantity-latency QL.json --quantity-ceilings C.json...
                  [--sampled S.json --sampled-latency SL.json --sampled-ceilings C.json...]
                  [--search C.json] [--batch-search C.json] [--env TEXT]
      The summary, then the last lines:
      e2e: ingest=<N>/s observations=<N>/s fhir_ceiling=<N>/s ratio=<R> p99_ms=<N> cpu_us_per_msg=<N>
      e2e-sampled: (the same for the SampledData workload)
"""
import argparse
import json
import math
import re
import sys
import time
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
TOLERANCE = 0.10  # the largest disagreement between two sources of one figure


class CheckFailed(Exception):
    pass


# ---- Prometheus text ------------------------------------------------------------------------------

def parse_metrics_text(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = frozenset(LABEL.findall(m.group(3) or ''))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def parse_metrics(path):
    with open(path, encoding='utf-8') as f:
        return parse_metrics_text(f.read())


def total(metrics, name, **want):
    return sum(v for (n, labels), v in metrics.items()
               if n == name and all((k, w) in labels for k, w in want.items()))


def has(metrics, name):
    return any(n == name for (n, _) in metrics)


def delta(before, after, name, **want):
    return total(after, name, **want) - total(before, name, **want)


def by_label(before, after, name, label):
    out = {}
    for (n, labels), v in after.items():
        if n != name:
            continue
        key = dict(labels).get(label, '')
        out[key] = out.get(key, 0.0) + v - before.get((n, labels), 0.0)
    return out


def histogram_quantiles(before, after, name, qs):
    """Quantiles of a histogram's bucket deltas, interpolated linearly inside a bucket (as
    Prometheus' histogram_quantile does)."""
    buckets = []
    for (n, labels), v in after.items():
        if n != name + '_bucket':
            continue
        le = dict(labels).get('le')
        bound = math.inf if le == '+Inf' else float(le)
        buckets.append((bound, v - before.get((n, labels), 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return [None for _ in qs]
    count = buckets[-1][1]
    res = []
    for q in qs:
        rank = q * count
        prev_bound, prev_count = 0.0, 0.0
        value = None
        for bound, c in buckets:
            if c >= rank:
                if math.isinf(bound):
                    value = prev_bound
                else:
                    inside = c - prev_count
                    frac = (rank - prev_count) / inside if inside > 0 else 1.0
                    value = prev_bound + (bound - prev_bound) * frac
                break
            prev_bound, prev_count = bound, c
        res.append(value)
    return res


# ---- helpers ----------------------------------------------------------------------------------------

def parse_loadgen(line):
    out = {}
    for tok in line.split():
        if '=' in tok:
            k, v = tok.split('=', 1)
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def fmt(v, digits=0):
    if v is None:
        return 'n/a'
    return f'{v:,.{digits}f}'


def disagreement(a, b):
    """Relative difference of two counts of the same thing (0 when both are 0)."""
    m = max(abs(a), abs(b))
    return abs(a - b) / m if m else 0.0


def agree(what, ours, theirs, theirs_name, problems):
    d = disagreement(ours, theirs)
    if d > TOLERANCE:
        problems.append(f'{what}: iomtflow counted {ours:,.0f}, {theirs_name} {theirs:,.0f} '
                        f'({100 * d:.0f} % apart, more than {100 * TOLERANCE:.0f} %)')


def loadgen_problems(lg, status, problems, what):
    if status != 0:
        reason = ('it was interrupted' if lg.get('interrupted') == 1 else
                  'it was cut off with requests unanswered' if lg.get('cut_off') == 1 else
                  'see its output')
        problems.append(f'{what}: the load generator exited with status {status} ({reason})')
    if 'messages' not in lg:
        problems.append(f'{what}: no summary line from the load generator')


def fail_if(problems, name):
    if problems:
        for p in problems:
            print(f'FAIL: {name}: {p}', file=sys.stderr)
        raise CheckFailed()


def http_get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode('utf-8')


def load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


# ---- fhir-state / idle ---------------------------------------------------------------------------

def fhir_state(a):
    t0 = time.time()
    count = json.loads(http_get(a.base.rstrip('/') + '/Observation?_summary=count')).get('total')
    stats = json.loads(http_get(a.admin.rstrip('/') + '/admin/stats'))
    if not isinstance(count, int):
        raise SystemExit('FAIL: the FHIR server answered _summary=count without a total')
    with open(a.out, 'w', encoding='utf-8') as f:
        json.dump({'time': t0, 'observations': count, 'stats': stats}, f)


BUSY_GAUGES = ('iomtflow_buffer_lag_events', 'iomtflow_pending_measurements', 'iomtflow_queue_depth',
               'iomtflow_waiting_events')


def idle(a):
    quiet = 0
    since = None
    last = {}
    while time.time() < a.deadline:
        t = time.time()
        try:
            m = parse_metrics_text(http_get(a.metrics, timeout=5))
            last = {g: total(m, g) for g in BUSY_GAUGES if has(m, g)}
            quiet = quiet + 1 if not any(last.values()) else 0
        except OSError as e:
            last = {'scrape error': str(e)}
            quiet = 0
        if quiet == 1:
            since = t
        if quiet >= 2:
            print(f'{since:.6f}')  # when it was first seen idle
            return 0
        time.sleep(0.25)
    busy = ', '.join(f'{k}={v:,.0f}' if isinstance(v, float) else f'{k}: {v}' for k, v in last.items())
    print(f'FAIL: {a.what}: iomtflow still busy at the end of the phase\'s grace ({busy})', file=sys.stderr)
    return 1


# ---- ceiling --------------------------------------------------------------------------------------

def ceiling(a):
    lg = parse_loadgen(a.loadgen)
    s0, s1 = load(a.before), load(a.after)
    problems = []
    loadgen_problems(lg, a.status, problems, 'the ceiling run')
    written = lg.get('messages', 0)
    stored = s1['observations'] - s0['observations']
    # Fresh ids on an empty store: every Observation written is a new one on the server.
    if disagreement(written, stored) > TOLERANCE:
        problems.append(f'the load generator counted {written:,.0f} Observations written, the FHIR server '
                        f'stores {stored:,.0f} more than before')
    failed = lg.get('errors', 0) + lg.get('other', 0) + lg.get('entry_errors', 0)
    sent = written + failed
    if sent and failed / sent > 0.01:
        problems.append(f'{failed:,.0f} of {sent:,.0f} writes failed (see the load generator\'s output): '
                        'a ceiling of failing writes is no ceiling')
    if not lg.get('msgs_per_s'):
        problems.append('no Observation was written')
    fail_if(problems, a.name)
    elapsed = lg.get('elapsed_s') or 1.0
    r = {
        'name': a.name,
        'bundle': a.bundle,
        'observations_per_s': lg['msgs_per_s'],
        'requests_per_s': lg.get('ok_per_s'),
        'lat_p50_ms': lg.get('lat_p50_ms'),
        'lat_p99_ms': lg.get('lat_p99_ms'),
        'fhir_cpu_cores': (a.fhir_cpu[1] - a.fhir_cpu[0]) / a.clk_tck / elapsed,
        'stored': stored,
    }
    with open(a.out, 'w', encoding='utf-8') as f:
        json.dump(r, f, indent=1)
    pattern = f'batch Bundles of {a.bundle}' if a.bundle else a.pattern
    if a.bundle and 'search' in a.pattern:
        pattern = f'batch Bundles of {a.bundle} identifier searches, then of their {a.bundle} PUTs'
    print(f'--- {a.name}: {pattern}: {fmt(r["observations_per_s"])} Observations/s '
          f'({fmt(r["requests_per_s"])} requests/s, p50 {fmt(r["lat_p50_ms"], 1)} ms, p99 {fmt(r["lat_p99_ms"], 1)} ms, '
          f'FHIR server {fmt(r["fhir_cpu_cores"], 2)} cores; checked: the server stores {stored:,.0f})')


# ---- phase ----------------------------------------------------------------------------------------

def phase(a):
    """One load run, measured from idle to idle: M0 just before the load generator starts, M3 once
    iomtflow has finished every event it accepted. Every event counted was therefore accepted *and*
    processed inside the span, whatever iomtflow buffers or batches inside it, and each total can
    be checked exactly against a source outside iomtflow."""
    m0, m3 = parse_metrics(a.m0), parse_metrics(a.m3)
    s0, s3 = load(a.before), load(a.after)
    lg = parse_loadgen(a.loadgen)
    secs = a.t3 - a.t0
    problems = []
    loadgen_problems(lg, a.status, problems, 'the load run')
    if secs <= 0:
        problems.append('the measured span is empty')
    fail_if(problems, a.name)

    # Ingest: events iomtflow answered 201 (on disk with the durable buffer, persisted in FHIR
    # without it), against the events the load generator saw answered 201.
    accepted = delta(m0, m3, 'iomtflow_http_requests_total', route='ingest', status='201') * a.per_request
    agree('events answered 201', accepted, lg.get('messages', 0), 'the load generator', problems)
    refused = delta(m0, m3, 'iomtflow_http_requests_total', route='ingest', status='503')
    if has(m3, 'iomtflow_http_requests_total'):
        agree('requests answered 503', refused, lg.get('status_503', 0), 'the load generator', problems)
    pipeline_events = delta(m0, m3, 'iomtflow_device_events_total')

    # Observations: iomtflow's FhirResourceSaved counts against the FHIR server's own counts.
    created = delta(m0, m3, 'iomtflow_fhir_resources_saved_total', operation='created')
    updated = delta(m0, m3, 'iomtflow_fhir_resources_saved_total', operation='updated')
    stored = s3['observations'] - s0['observations']
    agree('Observations created', created, stored, 'the FHIR server (Observations it stores in addition)', problems)
    route = lambda s, k: s['stats'].get('byRoute', {}).get(k, 0)
    puts = route(s3, 'PUT Observation') - route(s0, 'PUT Observation')
    batches = route(s3, 'POST system') - route(s0, 'POST system')
    not_2xx = lambda s: sum(v for k, v in s['stats'].get('byStatus', {}).items() if not k.startswith('2'))
    failed = not_2xx(s3) - not_2xx(s0)
    # The server counts requests, not batch entries: iomtflow's writes lie between its single
    # PUTs that succeeded and those plus full batch Bundles.
    low, high = max(0.0, puts - failed), puts + batches * a.bundle
    writes = created + updated
    if writes < low * (1 - TOLERANCE) or writes > high * (1 + TOLERANCE):
        problems.append(f'Observations written: iomtflow counted {writes:,.0f}, the FHIR server received {puts:,.0f} '
                        f'PUT Observation ({failed:,.0f} answers not 2xx) and {batches:,.0f} batch Bundles of at most '
                        f'{a.bundle}: between {low:,.0f} and {high:,.0f}')
    tail = a.t3 - (a.t0 + (lg.get('elapsed_s') or 0))  # end of the load -> every accepted event finished
    if a.target_rate:
        # Below saturation: the pace asked for was sent, and iomtflow finished every event soon
        # after the load stopped (a pipeline that fell behind the pace leaves a backlog). A 5 s run
        # with 1 s flushes cannot show a small shortfall; this catches a gross one.
        sent = lg.get('sent_per_s', 0)
        if disagreement(sent, a.target_rate) > TOLERANCE:
            problems.append(f'the load generator sent {sent:,.0f} events/s of the {a.target_rate:,.0f}/s asked for')
        if tail > a.tail_limit:
            problems.append(f'iomtflow needed {tail:.1f} s after the load stopped to finish its events (more than '
                            f'{a.tail_limit:.1f} s): it fell behind the pace of {a.target_rate:,.0f}/s, so this is no '
                            'below-saturation latency')
    if accepted <= 0:
        problems.append('iomtflow accepted no event')
    if writes <= 0:
        problems.append('iomtflow wrote no Observation')
    fail_if(problems, a.name)

    cpu_s = (a.cpu[1] - a.cpu[0]) / a.clk_tck
    fhir_cpu_s = (a.fhir_cpu[1] - a.fhir_cpu[0]) / a.clk_tck
    fhir_requests = delta(m0, m3, 'iomtflow_fhir_request_duration_seconds_count')
    fhir_sum = delta(m0, m3, 'iomtflow_fhir_request_duration_seconds_sum')
    p50, p99 = histogram_quantiles(m0, m3, 'iomtflow_ingest_to_persisted_seconds', [0.5, 0.99])
    r = {
        'name': a.name,
        'span_s': secs,
        'load_s': lg.get('elapsed_s'),
        'tail_s': tail,
        'events': accepted,
        'events_per_s': accepted / secs,
        'loadgen_201_per_s': lg.get('msgs_per_s'),
        'loadgen_sent_per_s': lg.get('sent_per_s'),
        'http_503': refused,
        'pipeline_events': pipeline_events,
        'measurements_per_s': delta(m0, m3, 'iomtflow_normalized_events_total') / secs,
        'observations_per_s': writes / secs,
        'created': created,
        'updated': updated,
        'no_op': delta(m0, m3, 'iomtflow_fhir_resources_saved_total', operation='no_op'),
        'fhir_stored': stored,
        'fhir_puts': puts,
        'fhir_batches': batches,
        'errors': delta(m0, m3, 'iomtflow_errors_total'),
        'flushes': delta(m0, m3, 'iomtflow_flushes_total'),
        'flush_busy': delta(m0, m3, 'iomtflow_stage_duration_seconds_sum', stage='flush') / secs,
        'fhir_requests_per_s': fhir_requests / secs,
        'fhir_requests_by_method': {k: v / secs for k, v in
                                    by_label(m0, m3, 'iomtflow_fhir_request_duration_seconds_count', 'method').items() if v},
        'fhir_request_mean_ms': 1000 * fhir_sum / fhir_requests if fhir_requests else None,
        'hist_p50_ms': None if p50 is None else p50 * 1000,
        'hist_p99_ms': None if p99 is None else p99 * 1000,
        'http_p50_ms': lg.get('lat_p50_ms'),
        'http_p99_ms': lg.get('lat_p99_ms'),
        'loadgen_errors': lg.get('errors', 0) + lg.get('other', 0),
        'cpu_us_per_msg': 1e6 * cpu_s / accepted,
        'cpu_cores': cpu_s / secs,
        'fhir_cpu_cores': fhir_cpu_s / secs,
        'fhir_cpu_ms_per_observation': 1000 * fhir_cpu_s / writes,
        'loadgen_cpu_cores': lg.get('cpu_s', 0) / (lg.get('elapsed_s') or 1.0),
        'peak_rss_mb': a.hwm_kb / 1024,
    }
    with open(a.out, 'w', encoding='utf-8') as f:
        json.dump(r, f, indent=1)
    print_phase(r)


def print_phase(r):
    methods = ', '.join(f'{k} {v:,.0f}/s' for k, v in sorted(r['fhir_requests_by_method'].items()))
    print(f'--- {r["name"]} ({r["span_s"]:.1f} s from the first request until iomtflow had finished every event it '
          f'accepted: load {fmt(r["load_s"], 1)} s, then {fmt(r["tail_s"], 1)} s)')
    print(f'  ingest                 {fmt(r["events"])} events answered 201 = {fmt(r["events_per_s"])}/s over the span '
          f'(during the load the load generator saw {fmt(r["loadgen_201_per_s"])}/s); {fmt(r["http_503"])} requests '
          f'answered 503; {fmt(r["measurements_per_s"])} measurements/s')
    print(f'  Observations written   {fmt(r["observations_per_s"])}/s (created {fmt(r["created"])}, updated '
          f'{fmt(r["updated"])}, no-op {fmt(r["no_op"])}; the FHIR server stores {fmt(r["fhir_stored"])} more and '
          f'received {fmt(r["fhir_puts"])} PUT Observation and {fmt(r["fhir_batches"])} batch Bundles)')
    print(f'  FHIR requests          {fmt(r["fhir_requests_per_s"])}/s ({methods}; mean {fmt(r["fhir_request_mean_ms"], 1)} ms '
          f'incl. waiting for a pooled connection)')
    print(f'  latency                HTTP 201 p50 {fmt(r["http_p50_ms"])} ms, p99 {fmt(r["http_p99_ms"])} ms; '
          f'ingest->persisted (iomtflow histogram) p50 {fmt(r["hist_p50_ms"])} ms, p99 {fmt(r["hist_p99_ms"])} ms')
    print(f'  iomtflow               {fmt(r["cpu_us_per_msg"])} CPU us per message ({fmt(r["cpu_cores"], 2)} cores); '
          f'peak RSS {fmt(r["peak_rss_mb"], 1)} MB; {fmt(r["flushes"])} flushes, shards busy flushing '
          f'{fmt(r["flush_busy"], 2)} s per s')
    print(f'  other processes        FHIR server {fmt(r["fhir_cpu_cores"], 2)} cores ({fmt(r["fhir_cpu_ms_per_observation"], 2)} '
          f'ms per Observation), load generator {fmt(r["loadgen_cpu_cores"], 2)} cores')
    print(f'  errors                 load generator {fmt(r["loadgen_errors"])}, iomtflow {fmt(r["errors"])}')


# ---- final ----------------------------------------------------------------------------------------

def best_ceiling(paths):
    """The FHIR ceiling of one workload: per write pattern (bare PUT, batch Bundles) the mean of
    its runs (before and after the workload), then the better pattern."""
    by_pattern = {}
    for p in paths:
        c = load(p)
        by_pattern.setdefault(c['bundle'], []).append(c)
    means = {b: sum(c['observations_per_s'] for c in cs) / len(cs) for b, cs in by_pattern.items()}
    best = max(means, key=means.get)
    return means[best], best, means, by_pattern


def workload_summary(title, sat, lat, ceilings):
    ceiling_v, best, means, by_pattern = best_ceiling(ceilings)
    print(f'  {title}')
    print(f'      saturated: ingest {fmt(sat["events_per_s"])} events/s ({fmt(sat["measurements_per_s"])} readings/s), '
          f'{fmt(sat["observations_per_s"])} Observations/s, {fmt(sat["fhir_requests_per_s"])} FHIR requests/s; '
          f'iomtflow {fmt(sat["cpu_us_per_msg"])} CPU us per message ({fmt(sat["cpu_cores"], 2)} cores), '
          f'peak RSS {fmt(sat["peak_rss_mb"], 1)} MB; FHIR server {fmt(sat["fhir_cpu_cores"], 2)} cores')
    if lat:
        print(f'      below saturation ({fmt(lat["loadgen_sent_per_s"])} events/s sent): HTTP 201 p50/p99 '
              f'{fmt(lat["http_p50_ms"])}/{fmt(lat["http_p99_ms"])} ms; ingest->persisted (iomtflow histogram) '
              f'p50/p99 {fmt(lat["hist_p50_ms"])}/{fmt(lat["hist_p99_ms"])} ms; '
              f'{fmt(lat["cpu_us_per_msg"])} CPU us per message')
    for b in sorted(means):
        runs = ', '.join(fmt(c['observations_per_s']) for c in by_pattern[b])
        name = f'batch Bundles of {b:.0f}' if b else 'bare PUT Observation/<id>'
        print(f'      FHIR ceiling, {name}: {fmt(means[b])} Observations/s (runs: {runs})'
              + ('  <- fhir_ceiling' if b == best else ''))
    return ceiling_v


def e2e_line(prefix, sat, lat, ceiling_v):
    p99 = (lat or sat)['http_p99_ms']
    ratio = sat['observations_per_s'] / ceiling_v
    return (f'{prefix}: ingest={sat["events_per_s"]:.0f}/s observations={sat["observations_per_s"]:.0f}/s '
            f'fhir_ceiling={ceiling_v:.0f}/s ratio={ratio:.2f} p99_ms={p99:.0f} cpu_us_per_msg={sat["cpu_us_per_msg"]:.0f}')


def final(a):
    q = load(a.quantity)
    ql = load(a.quantity_latency) if a.quantity_latency else None
    print()
    print('=== summary')
    if a.env:
        print(f'  machine: {a.env}')
    qc = workload_summary('Quantity (one Observation per reading)', q, ql, a.quantity_ceilings)
    if a.search:
        s = load(a.search)
        print(f'      for comparison, iomtflow\'s one-by-one create path (identifier search, then PUT): '
              f'{fmt(s["observations_per_s"])} Observations/s')
    if a.batch_search:
        s = load(a.batch_search)
        share = q['observations_per_s'] / s['observations_per_s'] if s['observations_per_s'] else 0
        print(f'      for comparison, the same in batch Bundles as iomtflow sends them (searches, then PUTs): '
              f'{fmt(s["observations_per_s"])} Observations/s; iomtflow reached {share:.2f} of it')
    lines = [e2e_line('e2e', q, ql, qc)]
    if a.sampled:
        s = load(a.sampled)
        sl = load(a.sampled_latency) if a.sampled_latency else None
        sc = workload_summary('SampledData (workshop mappings, hourly)', s, sl, a.sampled_ceilings)
        lines.append(e2e_line('e2e-sampled', s, sl, sc))
    if not ql:
        print('  (no latency run: p99_ms is the saturated run\'s HTTP 201 p99)')
    for line in lines:
        print(line)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    fs = sub.add_parser('fhir-state')
    fs.add_argument('--base', required=True)
    fs.add_argument('--admin', required=True)
    fs.add_argument('--out', required=True)
    idl = sub.add_parser('idle')
    idl.add_argument('--metrics', required=True)
    idl.add_argument('--deadline', type=float, required=True)
    idl.add_argument('--what', default='drain')
    ce = sub.add_parser('ceiling')
    ce.add_argument('--name', required=True)
    ce.add_argument('--loadgen', required=True)
    ce.add_argument('--status', type=int, required=True)
    ce.add_argument('--before', required=True)
    ce.add_argument('--after', required=True)
    ce.add_argument('--fhir-cpu', nargs=2, type=float, required=True)
    ce.add_argument('--clk-tck', type=float, default=100.0)
    ce.add_argument('--bundle', type=int, default=0)
    ce.add_argument('--pattern', default='bare PUT')
    ce.add_argument('--out', required=True)
    ph = sub.add_parser('phase')
    ph.add_argument('--name', required=True)
    for m in ('--m0', '--m3', '--before', '--after', '--loadgen', '--out'):
        ph.add_argument(m, required=True)
    ph.add_argument('--t0', type=float, required=True)
    ph.add_argument('--t3', type=float, required=True)
    ph.add_argument('--status', type=int, required=True)
    ph.add_argument('--cpu', nargs=2, type=float, required=True)
    ph.add_argument('--fhir-cpu', nargs=2, type=float, required=True)
    ph.add_argument('--clk-tck', type=float, default=100.0)
    ph.add_argument('--hwm-kb', type=float, default=0.0)
    ph.add_argument('--per-request', type=int, default=1)
    ph.add_argument('--bundle', type=int, default=0)
    ph.add_argument('--target-rate', type=float, default=0.0)
    ph.add_argument('--tail-limit', type=float, default=6.0)
    fi = sub.add_parser('final')
    fi.add_argument('--quantity', required=True)
    fi.add_argument('--quantity-latency')
    fi.add_argument('--quantity-ceilings', nargs='+', required=True)
    fi.add_argument('--sampled')
    fi.add_argument('--sampled-latency')
    fi.add_argument('--sampled-ceilings', nargs='+')
    fi.add_argument('--search')
    fi.add_argument('--batch-search')
    fi.add_argument('--env')
    a = p.parse_args()
    try:
        if a.cmd == 'fhir-state':
            fhir_state(a)
        elif a.cmd == 'idle':
            return idle(a)
        elif a.cmd == 'ceiling':
            ceiling(a)
        elif a.cmd == 'phase':
            phase(a)
        else:
            final(a)
    except CheckFailed:
        return 1
    except (OSError, ValueError, KeyError) as e:
        print(f'FAIL: {a.cmd}: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
