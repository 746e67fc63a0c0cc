//! `cluster upgrade --report html`: the report as one self-contained page
//! (inline CSS, JavaScript and SVG; nothing fetched), readable offline.
//!
//! The page carries the JSON report in a `<script type="application/json">`
//! element; its script draws the timelines from it: per second requests,
//! false 404s, 5xx and p99 latency (and `--run` failures), per phase the
//! proxied share, and each server's version (and when it was down), all
//! over the phases' bands.
//! The phase table is plain HTML, so it reads without JavaScript too.

use super::report::{PhaseReport, Report};

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A phase's table row; `number` is its band's label in the charts.
fn row(number: Option<usize>, p: &PhaseReport) -> String {
    let run = match (p.workload_runs, p.workload_failures) {
        (Some(r), Some(f)) => format!("<td>{f}/{r}</td>"),
        _ => String::new(),
    };
    format!(
        "<tr><td>{}{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{:.1}</td><td>{:.0}%</td>{run}</tr>",
        number.map(|n| format!("{n}. ")).unwrap_or_default(),
        esc(&p.name),
        esc(&p.step),
        p.seconds,
        p.requests,
        if p.false_404 > 0 { "bad" } else { "" },
        p.false_404,
        p.unexpected_5xx + p.expected_5xx,
        if p.unexpected_5xx > 0 { "bad" } else { "" },
        p.unexpected_5xx,
        p.errors,
        p.p99_ms,
        p.proxied_share * 100.0
    )
}

/// The page.
pub fn render(report: &Report) -> String {
    let data = serde_json::to_string(report)
        .unwrap_or_else(|_| "{}".to_owned())
        // `<` only occurs inside JSON strings, where \u003c means the same.
        .replace('<', "\\u003c");
    let verdict = if report.passed { "PASS" } else { "FAIL" };
    let run_head = if report.workload.is_some() {
        "<th>--run failed</th>"
    } else {
        ""
    };
    let mut rows: String = report
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| row(Some(i + 1), p))
        .collect();
    rows.push_str(&row(None, &report.total).replace("<tr>", "<tr class=\"total\">"));
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>skewless upgrade to {target}: {verdict}</title>
<style>{CSS}</style></head>
<body>
<h1>Upgrade rehearsal to {target}: <span class="{verdict_class}">{verdict}</span></h1>
<p>{requests} probe requests at {rate} requests/s; {false_404} false 404, {unexpected} unexpected 5xx, {errors} errors. Mixed Version Proxy {proxy}.</p>
<div id="charts"><noscript>The timelines need JavaScript; the table below does not.</noscript></div>
<table><thead><tr><th>phase</th><th>step</th><th>seconds</th><th>requests</th><th>false 404</th><th>5xx</th><th>unexpected 5xx</th><th>errors</th><th>p99 ms</th><th>proxied</th>{run_head}</tr></thead>
<tbody>{rows}</tbody></table>
<script type="application/json" id="report-data">{data}</script>
<script>{JS}</script>
</body></html>
"#,
        target = esc(&report.target),
        verdict_class = if report.passed { "pass" } else { "fail" },
        requests = report.total.requests,
        rate = report.rate,
        false_404 = report.total.false_404,
        unexpected = report.total.unexpected_5xx,
        errors = report.total.errors,
        proxy = if report.proxy_enabled { "on" } else { "OFF" },
    )
}

const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}.pass{color:#1a7f37}.fail,.bad{color:#c62828;font-weight:bold}
.chart{margin:8px 0}.chart h2{font-size:13px;margin:0;color:#555}
svg{background:#fff;border:1px solid #ddd}svg text{font-size:10px;fill:#555}
.band0{fill:#f4f6fa}.band1{fill:#e9edf5}svg text.phase{fill:#99a}
table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}tr.total{font-weight:bold}
"#;

const JS: &str = r#"
(function () {
  var R = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var W = 1000, L = 80, RM = 10, H = 110, T = 8, B = 18;
  var tmax = 1;
  R.series.forEach(function (p) { tmax = Math.max(tmax, p.t + 1); });
  R.phases.forEach(function (p) { tmax = Math.max(tmax, p.end); });
  function x(t) { return L + (W - L - RM) * t / tmax; }
  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function frame(title, height) {
    var div = document.createElement('div');
    div.className = 'chart';
    var h = document.createElement('h2');
    h.textContent = title;
    div.appendChild(h);
    var svg = el('svg', {width: W, height: height, viewBox: '0 0 ' + W + ' ' + height});
    div.appendChild(svg);
    document.getElementById('charts').appendChild(div);
    R.phases.forEach(function (p, i) {
      var band = el('rect', {x: x(p.start), y: 0, width: Math.max(0, x(p.end) - x(p.start)),
        height: height - B, 'class': 'band' + (i % 2)}, svg);
      el('title', {}, band, p.name);
      if (x(p.end) - x(p.start) > 14) {
        el('text', {x: x(p.start) + 3, y: 10, 'class': 'phase'}, svg, String(i + 1));
      }
    });
    for (var s = 0; s <= tmax; s += Math.max(1, Math.ceil(tmax / 10))) {
      el('text', {x: x(s), y: height - 5, 'text-anchor': 'middle'}, svg, s + 's');
    }
    return svg;
  }
  function chart(title, lines) {
    var svg = frame(title, H + T + B);
    var max = 0;
    lines.forEach(function (l) { l.points.forEach(function (p) { max = Math.max(max, p[1]); }); });
    if (max === 0) max = 1;
    function y(v) { return T + H - H * v / max; }
    el('text', {x: L - 4, y: T + 8, 'text-anchor': 'end'}, svg, String(Math.round(max * 10) / 10));
    el('text', {x: L - 4, y: T + H, 'text-anchor': 'end'}, svg, '0');
    lines.forEach(function (l) {
      if (!l.points.length) return;
      var d = l.points.map(function (p, i) {
        return (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1);
      }).join(' ');
      var path = el('path', {d: d, fill: 'none', stroke: l.color, 'stroke-width': 1.5,
        'class': 'series', 'data-series': l.name}, svg);
      el('title', {}, path, l.name);
    });
  }
  function perSecond(f) {
    return R.series.map(function (p) { return [p.t + 0.5, f(p)]; });
  }
  chart('requests/s', [{name: 'requests', color: '#1f6feb', points: perSecond(function (p) { return p.requests; })}]);
  chart('false 404/s', [{name: 'false 404', color: '#c62828', points: perSecond(function (p) { return p.false_404; })}]);
  chart('5xx/s (red: unexpected, orange: expected)', [
    {name: 'unexpected 5xx', color: '#c62828', points: perSecond(function (p) { return p.unexpected_5xx; })},
    {name: 'expected 5xx', color: '#ef8f00', points: perSecond(function (p) { return p.expected_5xx; })}]);
  chart('p99 latency (ms)', [{name: 'p99', color: '#6f42c1', points: perSecond(function (p) { return p.p99_ms; })}]);
  var share = [];
  R.phases.forEach(function (p) {
    share.push([p.start, p.proxied_share * 100]);
    share.push([p.end, p.proxied_share * 100]);
  });
  chart('proxied share per phase (%)', [{name: 'proxied', color: '#2da44e', points: share}]);
  if (R.workload) {
    var failed = R.series.map(function (p) { return [p.t + 0.5, 0]; });
    R.workload.failures.forEach(function (f) {
      var s = Math.floor(f.at);
      if (failed[s]) failed[s][1] += 1;
    });
    chart('--run failures/s (the first ' + R.workload.failures.length + ' of ' + R.workload.failed +
      ' in ' + R.workload.runs + ' runs)', [{name: 'run failures', color: '#c62828', points: failed}]);
  }

  var ids = [];
  R.servers.forEach(function (e) { if (ids.indexOf(e.server) < 0) ids.push(e.server); });
  var lane = 18, svg = frame("each server's version", ids.length * lane + 8 + B);
  var versions = [];
  R.servers.forEach(function (e) { if (versions.indexOf(e.version) < 0) versions.push(e.version); });
  versions.sort();
  var palette = ['#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
  ids.forEach(function (id, k) {
    var y0 = 4 + k * lane;
    el('text', {x: L - 4, y: y0 + 12, 'text-anchor': 'end'}, svg, id);
    var events = R.servers.filter(function (e) { return e.server === id; });
    events.forEach(function (e, i) {
      if (!e.up) return;
      var end = i + 1 < events.length ? events[i + 1].at : tmax;
      var color = palette[versions.indexOf(e.version) % palette.length];
      var x0 = x(e.at), x1 = x(end);
      var d = 'M' + x0.toFixed(1) + ' ' + y0 + ' H' + x1.toFixed(1) + ' V' + (y0 + lane - 4) +
        ' H' + x0.toFixed(1) + ' Z';
      var seg = el('path', {d: d, fill: color, 'class': 'version', 'data-version': e.version}, svg);
      el('title', {}, seg, id + ' at ' + e.version);
      if (x1 - x0 > 30) {
        el('text', {x: x0 + 4, y: y0 + 11, style: 'fill:#fff'}, svg, e.version);
      }
    });
  });
  document.body.setAttribute('data-rendered', 'true');
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_data_cannot_close_its_script() {
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
        let json = serde_json::to_string("</script><!--").unwrap_or_default();
        let data = json.replace('<', "\\u003c");
        assert!(!data.contains('<'));
        assert_eq!(
            serde_json::from_str::<String>(&data).ok().as_deref(),
            Some("</script><!--")
        );
    }
}
