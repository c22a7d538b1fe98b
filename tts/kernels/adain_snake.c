/* The fused AdaIN + Snake kernel of tts/fused_vocoder.py (why, and what it computes: its docstring). */

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t f32_to_bf16(float f) {  /* round to nearest even, as torch does */
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* sin(v)^2, vectorisable: sin^2 has period pi, so reduce v by n * pi (Cody-Waite, pi in four parts: exact up to
 * |v| ~ 1e5) to r in [-pi/2, pi/2], then sin(r) by its Taylor series to r^11 (error < 6e-8 there). */
static inline float sin_squared(float v) {
    float n = floorf(v * 0.31830988618379067f + 0.5f);
    float r = v - n * 3.140625f;
    r -= n * 0.0009670257568359375f;
    r -= n * 6.2771141529083251953e-07f;
    r -= n * 1.2154201256553420762e-10f;
    float r2 = r * r;
    float s = r * (1.0f + r2 * (-1.6666667e-1f + r2 * (8.3333333e-3f + r2 * (-1.9841270e-4f
                  + r2 * (2.7557319e-6f + r2 * -2.5052108e-8f)))));
    return s * s;
}

/* One row of x (length values): y = (x - mean) / sqrt(var + eps) * g1 + g2 (instance norm + AdaIN, folded into
 * k and shift), out = y + sin(alpha * y)^2 / alpha (Snake). Inlined with constant dtype flags, so each of the
 * four variants below is a straight vector loop. */
static inline void row(const void *x, void *out, const int x_bf16, const int out_bf16, long length,
                       float g1, float g2, float a, float eps) {
    const float *xf = (const float *)x;
    const uint16_t *xh = (const uint16_t *)x;
    double sum = 0.0, sq = 0.0;
    #pragma omp simd reduction(+:sum, sq)
    for (long t = 0; t < length; t++) {
        double v = x_bf16 ? bf16_to_f32(xh[t]) : xf[t];
        sum += v;
        sq += v * v;
    }
    double mean = sum / (double)length;
    double var = sq / (double)length - mean * mean;
    if (var < 0.0) var = 0.0;
    float k = (float)(g1 / sqrt(var + (double)eps));
    float shift = (float)(g2 - mean * (double)k);
    float inv_a = 1.0f / a;
    #pragma omp simd
    for (long t = 0; t < length; t++) {
        float y = (x_bf16 ? bf16_to_f32(xh[t]) : xf[t]) * k + shift;
        float o = y + inv_a * sin_squared(a * y);
        if (out_bf16) ((uint16_t *)out)[t] = f32_to_bf16(o); else ((float *)out)[t] = o;
    }
}

/* Rows r = b * channels + c of x (rows x length, contiguous); x and out are bfloat16 when their flag is set,
 * else float32. */
void adain_snake(const void *x, void *out, int x_bf16, int out_bf16, long rows, long channels, long length,
                 const float *g1, const float *g2, const float *alpha, float eps, int threads) {
    long in_size = x_bf16 ? 2 : 4, out_size = out_bf16 ? 2 : 4;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const char *xr = (const char *)x + r * length * in_size;
        char *o = (char *)out + r * length * out_size;
        float a = alpha[r % channels];
        if (x_bf16 && out_bf16) row(xr, o, 1, 1, length, g1[r], g2[r], a, eps);
        else if (x_bf16) row(xr, o, 1, 0, length, g1[r], g2[r], a, eps);
        else if (out_bf16) row(xr, o, 0, 1, length, g1[r], g2[r], a, eps);
        else row(xr, o, 0, 0, length, g1[r], g2[r], a, eps);
    }
}
