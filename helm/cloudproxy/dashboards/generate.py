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
