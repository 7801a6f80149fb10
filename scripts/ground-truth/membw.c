/* membw: the memory bandwidth this machine gives llama.cpp's threads, STREAM-like.
 *
 *   membw THREADS MIB SECONDS
 *
 * Each of THREADS threads owns an equal slice of a MIB-MiB buffer (first touched by its own
 * thread) and passes over it again and again for about SECONDS: `read` sums every 64-bit word
 * (what a decode step does to the weights), `copy` writes a second buffer from the first (STREAM
 * copy; counted as the bytes read plus the bytes written). The answer is the best pass, in GB/s
 * (1e9 bytes/s), printed as one JSON line. The run is bounded: at most SECONDS per kernel plus one
 * pass.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    uint64_t *src, *dst;
    size_t n;
    int kind; /* 0 touch, 1 read, 2 copy */
    uint64_t sink;
    pthread_barrier_t *start;
    double t0, t1;
} job_t;

static void *work(void *p) {
    job_t *j = p;
    pthread_barrier_wait(j->start);
    j->t0 = now();
    if (j->kind == 0) {
        for (size_t i = 0; i < j->n; i++) {
            j->src[i] = i;
            j->dst[i] = 0;
        }
    } else if (j->kind == 1) {
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (size_t i = 0; i + 8 <= j->n; i += 8) {
            a0 += j->src[i];
            a1 += j->src[i + 1];
            a2 += j->src[i + 2];
            a3 += j->src[i + 3];
            a4 += j->src[i + 4];
            a5 += j->src[i + 5];
            a6 += j->src[i + 6];
            a7 += j->src[i + 7];
        }
        j->sink += a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    } else {
        memcpy(j->dst, j->src, j->n * sizeof(uint64_t));
        j->sink += j->dst[j->n / 2];
    }
    j->t1 = now();
    return NULL;
}

/* One pass of `kind` on every thread; seconds from the first start to the last finish. */
static double pass(job_t *jobs, int threads, int kind) {
    pthread_t tid[256];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        jobs[t].kind = kind;
        jobs[t].start = &b;
        pthread_create(&tid[t], NULL, work, &jobs[t]);
    }
    double t0 = 1e300, t1 = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        if (jobs[t].t0 < t0) t0 = jobs[t].t0;
        if (jobs[t].t1 > t1) t1 = jobs[t].t1;
    }
    pthread_barrier_destroy(&b);
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: membw THREADS MIB SECONDS\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    long mib = atol(argv[2]);
    double seconds = atof(argv[3]);
    if (threads < 1 || threads > 256 || mib < 16 || mib > 65536 || !(seconds > 0 && seconds <= 60)) {
        fprintf(stderr, "membw: THREADS 1..256, MIB 16..65536, SECONDS 0..60\n");
        return 2;
    }
    size_t words = (size_t)mib * 1024 * 1024 / sizeof(uint64_t);
    size_t per = words / (size_t)threads / 8 * 8;
    uint64_t *src = aligned_alloc(64, per * threads * sizeof(uint64_t));
    uint64_t *dst = aligned_alloc(64, per * threads * sizeof(uint64_t));
    if (!src || !dst) {
        fprintf(stderr, "membw: cannot allocate 2 x %ld MiB\n", mib);
        return 1;
    }
    job_t jobs[256];
    memset(jobs, 0, sizeof jobs);
    for (int t = 0; t < threads; t++) {
        jobs[t].src = src + (size_t)t * per;
        jobs[t].dst = dst + (size_t)t * per;
        jobs[t].n = per;
    }
    pass(jobs, threads, 0);
    double bytes = (double)per * threads * sizeof(uint64_t);
    double best[3] = {0, 0, 0};
    int passes[3] = {0, 0, 0};
    for (int kind = 1; kind <= 2; kind++) {
        double end = now() + seconds;
        do {
            double dt = pass(jobs, threads, kind);
            double moved = kind == 1 ? bytes : 2 * bytes;
            double gbs = moved / dt / 1e9;
            if (gbs > best[kind]) best[kind] = gbs;
            passes[kind]++;
        } while (now() < end);
    }
    uint64_t sink = 0;
    for (int t = 0; t < threads; t++) sink += jobs[t].sink;
    printf("{\"threads\": %d, \"mib\": %ld, \"read_gbs\": %.3f, \"copy_gbs\": %.3f, "
           "\"read_passes\": %d, \"copy_passes\": %d, \"sink\": %llu}\n",
           threads, mib, best[1], best[2], passes[1], passes[2],
           (unsigned long long)(sink & 0xff));
    free(src);
    free(dst);
    return 0;
}
