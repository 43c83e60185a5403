#!/usr/bin/env python3
"""bench/e2e/report.py - the arithmetic of bench/e2e/run (standard library only).

  report.py phase --name N --m1 M1 --m2 M2 --m3 M3 --seconds S --loadgen LINE --cpu T1 T2
                  --fhir-cpu F1 F2 --clk-tck HZ --hwm-kb KB --out PHASE.json
      Prints one run's figures and writes them as JSON. M1, M2: iomtflow /metrics scrapes at the
      start and end of the steady window (S seconds apart; T and F: CPU ticks of iomtflow and of
      the FHIR server at the same moments): rates and CPU. M3: after the drain: totals and the
      ingest-to-persisted histogram (M1 -> M3). LINE: the load generator's summary line.
  report.py final --quantity Q.json --ceiling 'loadgen: ...' [--ceiling-after 'loadgen: ...']
                  [--ceiling-search 'loadgen: ...']
                  [--quantity-latency QL.json] [--sampled S.json] [--sampled-latency SL.json] [--env TEXT]
      Prints the summary and, as the last line:
      e2e: ingest=<N>/s observations=<N>/s fhir_ceiling=<N>/s ratio=<R> p99_ms=<N>
      (Quantity workload: rates of the saturation run; p99 of the latency run when there is one)
"""
import argparse
import json
import math
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(path):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
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


def total(metrics, name, **want):
    s = 0.0
    for (n, labels), v in metrics.items():
        if n == name and all((k, w) in labels for k, w in want.items()):
            s += v
    return s


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


def ratio_of(a, b):
    return a / b if b else None


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
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return v
    if v is None:
        return 'n/a'
    return f'{v:,.{digits}f}'


def phase(a):
    m1, m2, m3 = parse_metrics(a.m1), parse_metrics(a.m2), parse_metrics(a.m3)
    lg = parse_loadgen(a.loadgen)
    secs = a.seconds if a.seconds > 0 else 1.0

    def rate(name, **want):
        return delta(m1, m2, name, **want) / secs

    events = delta(m1, m2, 'iomtflow_device_events_total')
    fhir_requests = delta(m1, m2, 'iomtflow_fhir_request_duration_seconds_count')
    fhir_sum = delta(m1, m2, 'iomtflow_fhir_request_duration_seconds_sum')
    p50, p99 = histogram_quantiles(m1, m3, 'iomtflow_ingest_to_persisted_seconds', [0.5, 0.99])
    cpu_s = (a.cpu[1] - a.cpu[0]) / a.clk_tck
    fhir_cpu_s = (a.fhir_cpu[1] - a.fhir_cpu[0]) / a.clk_tck
    r = {
        'name': a.name,
        'window_s': secs,
        'events_per_s': events / secs,
        'measurements_per_s': rate('iomtflow_normalized_events_total'),
        'observations_per_s': rate('iomtflow_fhir_resources_saved_total', operation='created')
                              + rate('iomtflow_fhir_resources_saved_total', operation='updated'),
        # whole run (m1 -> after the drain)
        'events': delta(m1, m3, 'iomtflow_device_events_total'),
        'created': delta(m1, m3, 'iomtflow_fhir_resources_saved_total', operation='created'),
        'updated': delta(m1, m3, 'iomtflow_fhir_resources_saved_total', operation='updated'),
        'no_op': delta(m1, m3, 'iomtflow_fhir_resources_saved_total', operation='no_op'),
        'errors': delta(m1, m3, 'iomtflow_errors_total'),
        'flushes': delta(m1, m3, 'iomtflow_flushes_total'),
        'flush_mean_s': ratio_of(delta(m1, m3, 'iomtflow_stage_duration_seconds_sum', stage='flush'),
                                 delta(m1, m3, 'iomtflow_stage_duration_seconds_count', stage='flush')),
        'flush_busy': delta(m1, m2, 'iomtflow_stage_duration_seconds_sum', stage='flush') / secs,
        'flush_mean_measurements': ratio_of(delta(m1, m3, 'iomtflow_flush_batch_measurements_sum'),
                                            delta(m1, m3, 'iomtflow_flush_batch_measurements_count')),
        'group_write_mean_ms': ratio_of(1000 * delta(m1, m3, 'iomtflow_stage_duration_seconds_sum', stage='fhir_write'),
                                        delta(m1, m3, 'iomtflow_stage_duration_seconds_count', stage='fhir_write')),
        'fhir_requests_per_s': fhir_requests / secs,
        'fhir_requests_by_method': {k: v / secs for k, v in by_label(m1, m2, 'iomtflow_fhir_request_duration_seconds_count', 'method').items() if v},
        'fhir_requests_by_status': {k: v for k, v in by_label(m1, m3, 'iomtflow_fhir_request_duration_seconds_count', 'status').items() if v},
        'fhir_request_mean_ms': 1000 * fhir_sum / fhir_requests if fhir_requests else None,
        'hist_p50_ms': None if p50 is None else p50 * 1000,
        'hist_p99_ms': None if p99 is None else p99 * 1000,
        'http_p50_ms': lg.get('lat_p50_ms'),
        'http_p99_ms': lg.get('lat_p99_ms'),
        'http_503': lg.get('status_503', 0),
        'loadgen_errors': lg.get('errors', 0) + lg.get('other', 0),
        'loadgen_msgs_per_s': lg.get('msgs_per_s'),
        'cpu_per_10k_s': cpu_s / events * 10000 if events else None,
        'cpu_cores': cpu_s / secs,
        'fhir_cpu_cores': fhir_cpu_s / secs,
        'loadgen_cpu_cores': lg.get('cpu_s', 0) / (lg.get('elapsed_s') or 1.0),
        'peak_rss_mb': a.hwm_kb / 1024,
    }
    with open(a.out, 'w', encoding='utf-8') as f:
        json.dump(r, f, indent=1)
    print_phase(r)


def print_phase(r):
    methods = ', '.join(f'{k} {v:,.0f}/s' for k, v in sorted(r['fhir_requests_by_method'].items()))
    statuses = ', '.join(f'{k}: {v:,.0f}' for k, v in sorted(r['fhir_requests_by_status'].items()))
    print(f'--- {r["name"]} (rates over the steady {r["window_s"]:.1f} s window)')
    print(f'  ingest                 {fmt(r["events_per_s"])} events/s, {fmt(r["measurements_per_s"])} measurements/s '
          f'(load generator: {fmt(r["loadgen_msgs_per_s"])} messages/s answered 201)')
    print(f'  Observations written   {fmt(r["observations_per_s"])}/s (from the window start to the drain: created '
          f'{fmt(r["created"])}, updated {fmt(r["updated"])}, no-op {fmt(r["no_op"])})')
    print(f'  FHIR requests          {fmt(r["fhir_requests_per_s"])}/s ({methods}; mean {fmt(r["fhir_request_mean_ms"], 1)} ms '
          f'incl. waiting for a pooled connection; status {statuses})')
    print(f'  ingest->persisted      HTTP 201 p50 {fmt(r["http_p50_ms"])} ms, p99 {fmt(r["http_p99_ms"])} ms; '
          f'iomtflow histogram p50 {fmt(r["hist_p50_ms"])} ms, p99 {fmt(r["hist_p99_ms"])} ms')
    print(f'  flushes                {fmt(r["flushes"])}: mean {fmt(r["flush_mean_measurements"])} measurements, '
          f'{fmt(r["flush_mean_s"], 2)} s each (shards busy flushing {fmt(r["flush_busy"], 2)} s per s); '
          f'a measurement group written in {fmt(r["group_write_mean_ms"], 1)} ms on average')
    print(f'  iomtflow               {fmt(r["cpu_per_10k_s"], 3)} CPU s per 10k messages ({fmt(r["cpu_cores"], 2)} cores); '
          f'peak RSS {fmt(r["peak_rss_mb"], 1)} MB')
    print(f'  other processes        FHIR server {fmt(r["fhir_cpu_cores"], 2)} cores, load generator '
          f'{fmt(r["loadgen_cpu_cores"], 2)} cores')
    print(f'  refusals / errors      HTTP 503 {fmt(r["http_503"])}, load generator errors {fmt(r["loadgen_errors"])}, '
          f'iomtflow errors {fmt(r["errors"])}')


def load(path):
    if not path:
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def workload_lines(title, sat, lat):
    print(f'  {title}, saturated: ingest {fmt(sat["events_per_s"])} events/s ({fmt(sat["measurements_per_s"])} readings/s), '
          f'{fmt(sat["observations_per_s"])} Observations/s, {fmt(sat["fhir_requests_per_s"])} FHIR requests/s, '
          f'HTTP 201 p50/p99 {fmt(sat["http_p50_ms"])}/{fmt(sat["http_p99_ms"])} ms')
    print(f'      iomtflow {fmt(sat["cpu_per_10k_s"], 3)} CPU s per 10k messages ({fmt(sat["cpu_cores"], 2)} cores), '
          f'peak RSS {fmt(sat["peak_rss_mb"], 1)} MB; FHIR server {fmt(sat["fhir_cpu_cores"], 2)} cores')
    if lat:
        print(f'      below saturation ({fmt(lat["events_per_s"])} events/s): ingest->persisted p50/p99 '
              f'{fmt(lat["http_p50_ms"])}/{fmt(lat["http_p99_ms"])} ms (HTTP 201), '
              f'{fmt(lat["hist_p50_ms"])}/{fmt(lat["hist_p99_ms"])} ms (iomtflow histogram); '
              f'{fmt(lat["cpu_per_10k_s"], 3)} CPU s per 10k messages')


def final(a):
    q, ql = load(a.quantity), load(a.quantity_latency)
    s, sl = load(a.sampled), load(a.sampled_latency)
    c = parse_loadgen(a.ceiling)
    ca = parse_loadgen(a.ceiling_after) if a.ceiling_after else None
    runs = [x for x in (c, ca) if x and x.get('ok_per_s')]
    ceiling = sum(x['ok_per_s'] for x in runs) / len(runs) if runs else 0.0
    ceiling_cores = sum(float(x.get('fhir_cpu_cores', 0)) for x in runs) / len(runs) if runs else 0.0
    ratio = q['observations_per_s'] / ceiling if ceiling else 0.0
    print()
    print('=== summary')
    if a.env:
        print(f'  machine: {a.env}')
    workload_lines('Quantity (one Observation per reading)', q, ql)
    def server_ms(obs_per_s, cores):
        return 1000 * cores / obs_per_s if obs_per_s and cores else None

    print(f'  FHIR write ceiling, bare client, PUT Observation/<id>: {fmt(ceiling)}/s -> ratio {ratio:.2f}')
    for label, x in (('before', c), ('after', ca)):
        if x:
            print(f'      {label} the Quantity runs: {fmt(x.get("ok_per_s"))}/s (p50 {fmt(x.get("lat_p50_ms"), 1)} ms, '
                  f'p99 {fmt(x.get("lat_p99_ms"), 1)} ms, FHIR server {fmt(x.get("fhir_cpu_cores"), 2)} cores)')
    cs = parse_loadgen(a.ceiling_search) if a.ceiling_search else None
    if cs:
        cr = cs.get('ok_per_s', 0)
        print(f'      with an identifier search before each PUT (iomtflow\'s create path): {fmt(cr)} Observations/s '
              f'(FHIR server {fmt(cs.get("fhir_cpu_cores"), 2)} cores)'
              + (f' -> ratio {q["observations_per_s"] / cr:.2f}' if cr else ''))
    # FHIR server CPU per Observation: independent of the CPU share the server gets on a shared machine.
    print(f'      FHIR server CPU per Observation: iomtflow {fmt(server_ms(q["observations_per_s"], q["fhir_cpu_cores"]), 3)} ms, '
          f'bare PUT {fmt(server_ms(ceiling, ceiling_cores), 3)} ms'
          + (f', bare search + PUT {fmt(server_ms(cs.get("ok_per_s"), cs.get("fhir_cpu_cores")), 3)} ms' if cs else ''))
    if s:
        workload_lines('SampledData (workshop mappings, hourly)', s, sl)
    # p99: below saturation when measured (at saturation a closed loop's latency only says how many
    # connections wait), else the saturated run's.
    lat = ql or q
    p99 = lat['http_p99_ms'] if lat.get('http_p99_ms') else lat.get('hist_p99_ms') or 0
    print(f'e2e: ingest={q["events_per_s"]:.0f}/s observations={q["observations_per_s"]:.0f}/s '
          f'fhir_ceiling={ceiling:.0f}/s ratio={ratio:.2f} p99_ms={p99:.0f}')


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    ph = sub.add_parser('phase')
    ph.add_argument('--name', required=True)
    ph.add_argument('--m1', required=True)
    ph.add_argument('--m2', required=True)
    ph.add_argument('--m3', required=True)
    ph.add_argument('--seconds', type=float, required=True)
    ph.add_argument('--loadgen', required=True)
    ph.add_argument('--cpu', nargs=2, type=float, required=True)
    ph.add_argument('--fhir-cpu', nargs=2, type=float, required=True)
    ph.add_argument('--clk-tck', type=float, default=100.0)
    ph.add_argument('--hwm-kb', type=float, default=0.0)
    ph.add_argument('--out', required=True)
    fi = sub.add_parser('final')
    fi.add_argument('--quantity', required=True)
    fi.add_argument('--ceiling', required=True)
    fi.add_argument('--ceiling-after')
    fi.add_argument('--ceiling-search')
    fi.add_argument('--sampled')
    fi.add_argument('--quantity-latency')
    fi.add_argument('--sampled-latency')
    fi.add_argument('--env')
    a = p.parse_args()
    if a.cmd == 'phase':
        phase(a)
    else:
        final(a)


if __name__ == '__main__':
    sys.exit(main())
