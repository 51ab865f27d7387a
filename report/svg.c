/*
 * svg.c: the inline SVG charts of `cfx report` (html.h): overlaid
 * histograms and line charts with axes. Text in a chart goes through
 * cfx_html_text like everything else.
 */
#include <math.h>

#include "report/html.h"

/* Ticks at 1, 2 or 5 times a power of ten, about `want` of them. */
static double tick_step(double span, int want) {
    if (!(span > 0))
        return 1;
    double raw = span / want, mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

void cfx_svg_histogram(FILE *out, const cfx_svg_hist_t *h, size_t n_series,
                       int width, int height) {
    double lo = INFINITY, hi = -INFINITY, top = 0;
    for (size_t s = 0; s < n_series; s++) {
        double tot = 0;
        for (size_t i = 0; i < h[s].n; i++)
            tot += h[s].b[i].count;
        for (size_t i = 0; i < h[s].n; i++) {
            const cfx_svg_bucket_t *b = &h[s].b[i];
            if (b->low < lo)
                lo = b->low;
            if (b->high > hi)
                hi = b->high;
            if (tot > 0 && b->count / tot > top)
                top = b->count / tot;
        }
    }
    fprintf(out,
            "<svg class=\"hist\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\">",
            width, height, width, height);
    if (!(top > 0) || !isfinite(lo) || !isfinite(hi)) {
        fprintf(out, "<text x=\"4\" y=\"%d\">no values</text></svg>",
                height / 2);
        return;
    }
    const double pad = 2, base = height - 12.0;
    double span = hi > lo ? hi - lo : 1;
    fprintf(out,
            "<line class=\"axis\" x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>",
            pad, base, width - pad, base);
    for (size_t s = 0; s < n_series; s++) {
        double tot = 0;
        for (size_t i = 0; i < h[s].n; i++)
            tot += h[s].b[i].count;
        if (!(tot > 0))
            continue;
        for (size_t i = 0; i < h[s].n; i++) {
            const cfx_svg_bucket_t *b = &h[s].b[i];
            double x0 = pad + (b->low - lo) / span * (width - 2 * pad);
            double x1 = pad + (b->high - lo) / span * (width - 2 * pad);
            if (hi == lo) /* one value: one full-width bar */
                x0 = pad, x1 = width - pad;
            if (x1 - x0 < 1)
                x1 = x0 + 1;
            double hgt = b->count / tot / top * (base - 2);
            fprintf(out,
                    "<rect class=\"h%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\"><title>",
                    h[s].style ? 1 : 0, x0, base - hgt, x1 - x0, hgt);
            cfx_html_textf(out, "%s [%.6g, %.6g): %.6g (%.1f%%)",
                           h[s].name ? h[s].name : "", b->low, b->high,
                           b->count, 100 * b->count / tot);
            fputs("</title></rect>", out);
        }
    }
    fprintf(out, "<text x=\"%g\" y=\"%d\">", pad, height - 1);
    cfx_html_textf(out, "%.4g", lo);
    fprintf(out, "</text><text x=\"%g\" y=\"%d\" text-anchor=\"end\">",
            width - pad, height - 1);
    cfx_html_textf(out, "%.4g", hi);
    fputs("</text></svg>", out);
}

void cfx_svg_lines(FILE *out, const cfx_svg_plot_t *p,
                   const cfx_svg_series_t *s, size_t n_series) {
    double x0 = p->x0, x1 = p->x1, y0 = p->y0, y1 = p->y1;
    if (x0 == x1 || y0 == y1) {
        double ax = INFINITY, bx = -INFINITY, ay = INFINITY, by = -INFINITY;
        for (size_t k = 0; k < n_series; k++)
            for (size_t i = 0; i < s[k].n; i++) {
                if (isfinite(s[k].x[i])) {
                    ax = fmin(ax, s[k].x[i]);
                    bx = fmax(bx, s[k].x[i]);
                }
                if (isfinite(s[k].y[i])) {
                    ay = fmin(ay, s[k].y[i]);
                    by = fmax(by, s[k].y[i]);
                }
            }
        if (!isfinite(ax))
            ax = 0, bx = 1;
        if (!isfinite(ay))
            ay = 0, by = 1;
        if (x0 == x1)
            x0 = ax, x1 = bx > ax ? bx : ax + 1;
        if (y0 == y1) {
            double m = (by - ay) * 0.05;
            y0 = ay - m, y1 = by + m;
            if (!(y1 > y0))
                y0 = ay - 1, y1 = ay + 1;
        }
    }
    const int W = p->width, H = p->height;
    const double L = 48, R = 18, T = 24, B = 36;
    double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v)-x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - ((v)-y0) / (y1 - y0) * ph)
    fprintf(out,
            "<svg class=\"plot\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\"><text x=\"%g\" y=\"15\" "
            "font-weight=\"600\">",
            W, H, W, H, L);
    cfx_html_text(out, p->title);
    fputs("</text>", out);
    double sx = tick_step(x1 - x0, 5), sy = tick_step(y1 - y0, 5);
    for (double v = ceil(x0 / sx) * sx; v <= x1 + sx * 1e-9; v += sx) {
        fprintf(out,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" "
                "y2=\"%g\"/><text x=\"%.1f\" y=\"%g\" "
                "text-anchor=\"middle\">%.4g</text>",
                PX(v), T, PX(v), T + ph, PX(v), T + ph + 13,
                fabs(v) < sx * 1e-9 ? 0.0 : v);
    }
    for (double v = ceil(y0 / sy) * sy; v <= y1 + sy * 1e-9; v += sy) {
        fprintf(out,
                "<line class=\"grid\" x1=\"%g\" y1=\"%.1f\" x2=\"%g\" "
                "y2=\"%.1f\"/><text x=\"%g\" y=\"%.1f\" "
                "text-anchor=\"end\">%.4g</text>",
                L, PY(v), L + pw, PY(v), L - 4, PY(v) + 4,
                fabs(v) < sy * 1e-9 ? 0.0 : v);
    }
    fprintf(out,
            "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
            "class=\"axis\"/>",
            L, T, pw, ph);
    if (p->diagonal) {
        double a = fmax(x0, y0), b = fmin(x1, y1);
        fprintf(out,
                "<line class=\"diag\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                "y2=\"%.1f\"/>",
                PX(a), PY(a), PX(b), PY(b));
    }
    fprintf(out, "<text x=\"%g\" y=\"%d\" text-anchor=\"middle\">", L + pw / 2,
            H - 4);
    cfx_html_text(out, p->x_label);
    fprintf(out,
            "</text><text transform=\"translate(11 %g) rotate(-90)\" "
            "text-anchor=\"middle\">",
            T + ph / 2);
    cfx_html_text(out, p->y_label);
    fputs("</text>", out);
    for (size_t k = 0; k < n_series; k++) {
        int pen = 0;
        fprintf(out, "<path class=\"line s%zu\" d=\"", k % 4);
        for (size_t i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) {
                pen = 0;
                continue;
            }
            fprintf(out, "%c%.1f %.1f", pen ? 'L' : 'M', PX(x), PY(y));
            pen = 1;
        }
        fputs("\"><title>", out);
        cfx_html_text(out, s[k].name);
        fputs("</title></path>", out);
        for (size_t i = 0; s[k].dots && i < s[k].n; i++)
            if (isfinite(s[k].x[i]) && isfinite(s[k].y[i])) {
                fprintf(out,
                        "<circle class=\"s%zu\" cx=\"%.1f\" cy=\"%.1f\" "
                        "r=\"3\"><title>",
                        k % 4, PX(s[k].x[i]), PY(s[k].y[i]));
                cfx_html_textf(out, "%s: (%.4g, %.4g)",
                               s[k].name ? s[k].name : "", s[k].x[i],
                               s[k].y[i]);
                fputs("</title></circle>", out);
            }
        double ly = p->legend ? T + ph - 8 - 14.0 * (double)(n_series - 1 - k)
                              : T + 12 + 14.0 * (double)k;
        double lx = p->legend == 2 ? L + 8 : L + pw - 22;
        fprintf(out,
                "<line class=\"line s%zu\" x1=\"%g\" y1=\"%.1f\" x2=\"%g\" "
                "y2=\"%.1f\"/><text x=\"%g\" y=\"%.1f\" "
                "text-anchor=\"%s\">",
                k % 4, lx, ly - 4, lx + 16, ly - 4,
                p->legend == 2 ? lx + 20 : lx - 4, ly,
                p->legend == 2 ? "start" : "end");
        cfx_html_text(out, s[k].name);
        fputs("</text>", out);
    }
#undef PX
#undef PY
    fputs("</svg>", out);
}
