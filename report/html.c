/*
 * html.c: escaping and the page frame of `cfx report` (html.h).
 */
#include "report/html.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/html_escape.h"

/* Escaped into a buffer of its own, then written: one escaping routine
 * for cfx (formats/html_escape.h). */
void cfx_html_textn(FILE *out, const char *s, size_t n) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    if (cfx_html_escape(&b, s, n) == 0)
        fwrite(b.data ? b.data : (const uint8_t *)"", 1, b.len, out);
    else
        fputs("\xEF\xBF\xBD", out); /* out of memory: no text, never raw */
    cfx_buf_free(&b);
}

void cfx_html_text(FILE *out, const char *s) {
    if (s)
        cfx_html_textn(out, s, strlen(s));
}

void cfx_html_textf(FILE *out, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        cfx_html_textn(out, buf,
                       (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void cfx_html_num_cell(FILE *out, double v, const char *cls) {
    if (isnan(v) || isinf(v)) {
        fprintf(out, "<td class=\"num %s\" data-v=\"\">-</td>", cls ? cls : "");
        return;
    }
    fprintf(out, "<td class=\"num %s\" data-v=\"%.17g\">%.4g</td>",
            cls ? cls : "", v, v);
}

/* Colours: series 0 blue, 1 orange (train and eval, candidate and
 * baseline), failures red; the palette reads in greyscale print too. */
static const char style[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0;color:#1d2733;background:#f6f7f9}"
    "header{background:#1d2733;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c5ccd6}"
    "nav{padding:6px 24px;background:#e9edf2;position:sticky;top:0;z-index:2}"
    "nav a{margin-right:16px;color:#1d4f91;text-decoration:none}"
    "main{padding:8px 24px 40px}"
    "section{background:#fff;border:1px solid #dde2e8;border-radius:6px;"
    "margin:16px 0;padding:12px 16px}"
    "h2{font-size:17px;margin:4px 0 10px}h3{font-size:15px;margin:14px 0 6px}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    "th,td{border-bottom:1px solid #e4e8ed;padding:4px 8px;text-align:left;"
    "vertical-align:middle}"
    "th{background:#f0f3f6;position:sticky;top:32px}"
    "table.sortable th{cursor:pointer;user-select:none}"
    "table.sortable th:after{content:' \\2195';color:#9aa5b1;font-size:11px}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    "td.feat{font-weight:600;max-width:260px;overflow-wrap:anywhere}"
    "#slices-table td.feat{white-space:nowrap;max-width:none}"
    "tr.anomaly td{background:#fff1f0}tr.anomaly td.feat{color:#b42318}"
    ".badge{display:inline-block;border-radius:3px;padding:1px 6px;"
    "font-size:12px;font-weight:600}"
    ".pass{background:#e3f6e8;color:#17663a}"
    ".fail{background:#fde7e6;color:#b42318}"
    ".warn{background:#fff4d6;color:#7a5200}"
    ".muted{color:#6b7785}.small{font-size:12px}"
    ".chip{display:inline-block;background:#eef1f5;border-radius:3px;"
    "padding:0 5px;margin:1px 0;white-space:pre-wrap}"
    ".split0{color:#2563eb}.split1{color:#d97706}"
    ".two{display:block;white-space:nowrap}"
    ".bars{min-width:220px}.bar{height:9px;margin:1px 0;border-radius:2px}"
    ".bar.s0{background:#2563eb}.bar.s1{background:#f0a33a}"
    ".barlab{font-size:11px;display:flex;justify-content:space-between;"
    "gap:8px}"
    ".blessing{font-size:16px;padding:8px 12px;border-radius:5px;margin:8px 0}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    "svg{background:#fff}svg text{font:11px system-ui,sans-serif;fill:#334}"
    "svg .grid{stroke:#e6e9ee}svg .axis{stroke:#8792a2}"
    "svg .s0{stroke:#2563eb;fill:#2563eb}svg .s1{stroke:#d97706;fill:#d97706}"
    "svg .s2{stroke:#059669;fill:#059669}svg .s3{stroke:#7c3aed;fill:#7c3aed}"
    "svg .line{fill:none;stroke-width:2}"
    "svg text.t0{fill:#2563eb}svg text.t1{fill:#b45309}"
    "svg .h0{fill:#2563eb;fill-opacity:.55;stroke:none}"
    "svg .h1{fill:none;stroke:#d97706;stroke-width:1.5}"
    "svg .diag{stroke:#9aa5b1;stroke-dasharray:4 3}"
    "input.filter{padding:5px 8px;width:280px;border:1px solid #c3cbd5;"
    "border-radius:4px;margin:4px 0}"
    ".cm td{width:110px;text-align:center;font-size:14px;padding:10px}"
    ".cm td.hit{background:#e3f6e8}.cm td.miss{background:#fde7e6}"
    "pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}"
    ".graph text{font-size:12px}"
    ".node rect{fill:#f0f3f6;stroke:#8792a2}"
    ".node.COMPLETE rect{fill:#e3f6e8;stroke:#17663a}"
    ".node.CACHED rect{fill:#e6eefc;stroke:#1d4f91}"
    ".node.FAILED rect{fill:#fde7e6;stroke:#b42318}"
    ".node.RUNNING rect{fill:#fff4d6;stroke:#7a5200}"
    ".edge{fill:none;stroke:#8792a2;stroke-width:1.3}"
    "@media print{nav{display:none}th{position:static}"
    "section{break-inside:avoid-page;border:none}body{background:#fff}}";

/* Sorting (click a header; numbers by data-v) and the filter box. */
static const char script[] =
    "(function(){"
    "function key(td){var v=td.getAttribute('data-v');"
    "if(v!==null){return v===''?-Infinity:parseFloat(v);}"
    "return td.textContent.toLowerCase();}"
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "var ths=t.tHead?t.tHead.rows[0].cells:[];"
    "Array.prototype.forEach.call(ths,function(th,i){th.onclick=function(){"
    "var b=t.tBodies[0],r=Array.prototype.slice.call(b.rows),"
    "d=th.getAttribute('data-dir')==='asc'?-1:1;"
    "th.setAttribute('data-dir',d===1?'asc':'desc');"
    "r.sort(function(x,y){var a=key(x.cells[i]),c=key(y.cells[i]);"
    "return a<c?-d:a>c?d:0;});"
    "r.forEach(function(row){b.appendChild(row);});};});});"
    "document.querySelectorAll('input.filter').forEach(function(f){"
    "f.oninput=function(){var q=f.value.toLowerCase(),"
    "t=document.getElementById(f.getAttribute('data-table'));"
    "Array.prototype.forEach.call(t.tBodies[0].rows,function(r){"
    "r.style.display=(r.getAttribute('data-name')||'').toLowerCase()"
    ".indexOf(q)<0?'none':'';});};});"
    "})();";

void cfx_html_begin(FILE *out, const char *title) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
          "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
          "img-src data:\">"
          "<meta name=\"viewport\" content=\"width=device-width\">"
          "<link rel=\"icon\" href=\"data:,\"><title>",
          out);
    cfx_html_text(out, title);
    fprintf(out, "</title><style>%s</style></head><body>\n", style);
}

void cfx_html_end(FILE *out) {
    fprintf(out, "<script>%s</script>\n</body></html>\n", script);
}
