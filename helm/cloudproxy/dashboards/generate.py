#!/usr/bin/env python3
"""Writes the Grafana dashboard (dashboards/cloudproxy.json, importable by hand) and the chart's copy of it
(templates/_dashboard.tpl, shipped as a ConfigMap), so the two never differ. Run after editing PANELS:

    python3 helm/cloudproxy/dashboards/generate.py

Every query may only name metrics the services really export: the Deploy tests scrape a live host and check.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEL = 'namespace=~"$namespace", job=~"$job"'
RATE = "$__rate_interval"


def rate(metric, by, extra=""):
    sel = SEL + (", " + extra if extra else "")
    return f"sum by ({by}) (rate({metric}{{{sel}}}[{RATE}]))"


def quantile(q, metric, by):
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{SEL}}}[{RATE}])))"


def gauge(metric, by):
    return f"sum by ({by}) ({metric}{{{SEL}}})"


# (row title, [(panel title, unit, [(expr, legend)])])
PANELS = [
    ("Pipeline (every service)", [
        ("Ingress rate: envelopes accepted", "ops", [
            (rate("cloudproxy_core_envelopes_accepted_total", "topic"), "{{topic}}")]),
        ("Refused (memory and spool full) and lost", "ops", [
            (rate("cloudproxy_core_envelopes_refused_total", "topic"), "refused {{topic}}"),
            (rate("cloudproxy_core_envelopes_lost_total", "reason"), "lost {{reason}}")]),
        ("Queue depth: outbox and spool", "short", [
            (gauge("cloudproxy_core_outbox_envelopes", "pod"), "outbox {{pod}}"),
            (gauge("cloudproxy_core_spool_envelopes", "pod"), "spool {{pod}}")]),
        ("Spool size", "bytes", [
            (gauge("cloudproxy_core_spool_bytes", "pod"), "{{pod}}")]),
        ("Publish rate and failures", "ops", [
            (rate("cloudproxy_core_envelopes_published_total", "topic"), "published {{topic}}"),
            (rate("cloudproxy_core_envelopes_replayed_total", "topic"), "replayed from spool {{topic}}"),
            (rate("cloudproxy_core_publish_failures_total", "topic"), "failed {{topic}}")]),
        ("Forward rate by outcome", "ops", [
            (rate("cloudproxy_core_envelopes_delivered_total", "topic, outcome"), "{{topic}} {{outcome}}")]),
        ("Delivery latency (received to delivered)", "s", [
            (quantile(0.5, "cloudproxy_core_delivery_latency_seconds", "topic"), "p50 {{topic}}"),
            (quantile(0.99, "cloudproxy_core_delivery_latency_seconds", "topic"), "p99 {{topic}}")]),
        ("Publisher healthy (0 = backing off)", "short", [
            (f"min by (pod) (cloudproxy_core_publisher_healthy{{{SEL}}})", "{{pod}}")]),
    ]),
    ("StatsD", [
        ("Requests by endpoint and outcome", "reqps", [
            (rate("cloudproxy_statsd_requests_total", "endpoint, outcome"), "{{endpoint}} {{outcome}}")]),
        ("Refusals by reason", "reqps", [
            (rate("cloudproxy_statsd_refusals_total", "reason"), "{{reason}}")]),
        ("Lines accepted and sent", "ops", [
            (rate("cloudproxy_statsd_lines_accepted_total", "job"), "accepted"),
            (rate("cloudproxy_statsd_lines_sent_total", "protocol"), "sent {{protocol}}"),
            (rate("cloudproxy_statsd_sampled_out_total", "job"), "sampled out")]),
        ("Send errors and drops", "ops", [
            (rate("cloudproxy_statsd_send_errors_total", "job"), "send errors"),
            (rate("cloudproxy_statsd_lines_dropped_total", "reason"), "dropped {{reason}}"),
            (rate("cloudproxy_statsd_envelopes_dropped_total", "reason"), "envelopes dropped {{reason}}")]),
    ]),
    ("Sentry", [
        ("Ingress requests by endpoint and outcome", "reqps", [
            (rate("cloudproxy_sentry_requests_total", "endpoint, outcome"), "{{endpoint}} {{outcome}}")]),
        ("Refusals by reason", "reqps", [
            (rate("cloudproxy_sentry_refusals_total", "reason"), "{{reason}}")]),
        ("Upstream requests by outcome", "reqps", [
            (rate("cloudproxy_sentry_upstream_requests_total", "upstream, outcome"), "{{upstream}} {{outcome}}"),
            (rate("cloudproxy_sentry_upstream_dropped_total", "upstream, reason"), "dropped {{upstream}} {{reason}}"),
            (rate("cloudproxy_sentry_upstream_duplicates_total", "upstream"), "duplicates {{upstream}}")]),
        ("Upstream rate limits in force", "short", [
            (gauge("cloudproxy_sentry_rate_limits_active", "upstream"), "{{upstream}}")]),
        ("Upstream concurrency (AIMD limit and in flight)", "short", [
            (gauge("cloudproxy_sentry_upstream_concurrency_limit", "upstream"), "limit {{upstream}}"),
            (gauge("cloudproxy_sentry_upstream_in_flight", "upstream"), "in flight {{upstream}}")]),
        ("Upstream latency", "s", [
            (quantile(0.5, "cloudproxy_sentry_upstream_request_duration_seconds", "upstream"), "p50 {{upstream}}"),
            (quantile(0.99, "cloudproxy_sentry_upstream_request_duration_seconds", "upstream"), "p99 {{upstream}}")]),
    ]),
    ("Graphite", [
        ("Gateway requests by endpoint and status", "reqps", [
            (rate("cloudproxy_graphite_requests_total", "endpoint, code"), "{{endpoint}} {{code}}")]),
        ("Points accepted, refusals and bad lines", "ops", [
            (rate("cloudproxy_graphite_points_accepted_total", "job"), "points accepted"),
            (rate("cloudproxy_graphite_refusals_total", "reason"), "refused {{reason}}"),
            (rate("cloudproxy_graphite_bad_lines_total", "reason"), "bad lines {{reason}}")]),
        ("Points sent per destination", "ops", [
            (rate("cloudproxy_graphite_destination_sent_points_total", "destination"), "sent {{destination}}"),
            (rate("cloudproxy_graphite_destination_replayed_points_total", "destination"), "replayed {{destination}}"),
            (rate("cloudproxy_graphite_destination_dropped_points_total", "destination, reason"), "dropped {{destination}} {{reason}}")]),
        ("Destination queue, spool and connection", "short", [
            (gauge("cloudproxy_graphite_destination_queued_points", "destination"), "queued {{destination}}"),
            (gauge("cloudproxy_graphite_destination_spool_points", "destination"), "spooled {{destination}}"),
            (f"min by (destination) (cloudproxy_graphite_destination_connected{{{SEL}}})", "connected {{destination}}")]),
    ]),
    ("Reverse proxy", [
        ("Requests by route and status class", "reqps", [
            (rate("cloudproxy_reverseproxy_requests_total", "route, status_class"), "{{route}} {{status_class}}")]),
        ("Latency by route", "s", [
            (quantile(0.5, "cloudproxy_reverseproxy_request_duration_seconds", "route"), "p50 {{route}}"),
            (quantile(0.99, "cloudproxy_reverseproxy_request_duration_seconds", "route"), "p99 {{route}}")]),
        ("Cache lookups", "reqps", [
            (rate("cloudproxy_reverseproxy_cache_lookups_total", "result"), "{{result}}"),
            (rate("cloudproxy_reverseproxy_cache_store_errors_total", "operation"), "store errors {{operation}}")]),
        ("Refused: rate limited and backpressure", "reqps", [
            (rate("cloudproxy_reverseproxy_rate_limited_total", "route"), "rate limited {{route}}"),
            (rate("cloudproxy_reverseproxy_backpressure_blocked_total", "cause"), "backpressure {{cause}}")]),
        ("Backpressure window", "short", [
            (gauge("cloudproxy_reverseproxy_backpressure_window", "pod"), "window {{pod}}"),
            (gauge("cloudproxy_reverseproxy_backpressure_in_flight", "pod"), "in flight {{pod}}")]),
        ("Backpressure signals", "short", [
            (gauge("cloudproxy_reverseproxy_backpressure_allowance", "pod"), "allowance {{pod}}"),
            (f"max by (query) (cloudproxy_reverseproxy_backpressure_query_firing{{{SEL}}})", "firing {{query}}")]),
    ]),
]


def build():
    panels, y, pid = [], 0, 1
    for row, items in PANELS:
        panels.append({"type": "row", "title": row, "id": pid, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (title, unit, targets) in enumerate(items):
            panels.append({
                "type": "timeseries", "title": title, "id": pid,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": y + 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": [{"refId": chr(65 + n), "expr": e, "legendFormat": legend,
                             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                            for n, (e, legend) in enumerate(targets)],
            })
            pid += 1
        y += 8 * ((len(items) + 1) // 2)

    def var(name, query):
        return {"name": name, "type": "query", "includeAll": True, "multi": True, "allValue": ".*",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": {"query": query, "refId": name}, "refresh": 2, "current": {}}

    return {
        "uid": "cloudproxy", "title": "CloudProxy", "tags": ["cloudproxy"], "schemaVersion": 39,
        "editable": True, "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "current": {}},
            var("namespace", "label_values(cloudproxy_core_publisher_healthy, namespace)"),
            var("job", 'label_values(cloudproxy_core_publisher_healthy{namespace=~"$namespace"}, job)'),
        ]},
        "panels": panels,
    }


def main():
    text = json.dumps(build(), indent=2) + "\n"
    with open(os.path.join(HERE, "cloudproxy.json"), "w", encoding="utf-8") as f:
        f.write(text)
    # Go templates would read "{{topic}}" as an action: print the braces as string constants.
    escaped = text.replace("{{", "\x00").replace("}}", '{{"}}"}}').replace("\x00", '{{"{{"}}')
    with open(os.path.join(HERE, "..", "templates", "_dashboard.tpl"), "w", encoding="utf-8") as f:
        f.write("{{- /* Generated by dashboards/generate.py from the same data as dashboards/cloudproxy.json. */ -}}\n")
        f.write('{{- define "cloudproxy.dashboard" -}}\n' + escaped + "{{- end -}}\n")


if __name__ == "__main__":
    main()
