/*
 * Reloading a new blob while lookups go on: reader threads look addresses up without
 * locks while the main thread swaps in a new matcher several times.
 *
 * The current matcher is one C11 atomic pointer. A reader announces the matcher it is
 * about to use in its own hazard slot, then re-reads the pointer: if it is unchanged, the
 * writer is bound to see the announcement before it frees that matcher. The writer
 * exchanges the pointer, waits until no slot holds the old matcher, then frees it. No
 * lookup ever waits, and no matcher is freed while in use. (Lookups take a `const
 * ipfence_matcher *` and never change it, so any number of threads may share one.)
 *
 * Build: cc -std=c11 -pthread hot_reload.c $(pkg-config --cflags --libs ipfence)
 * Run:   ./hot_reload OLD.blob NEW.blob   (e.g. two consecutive `ipfence compile` outputs:
 *        the real 2026-08-22 pair, where the newer adds 1.178.86.0/24)
 * Exit:  0 when every lookup answered and both versions were seen; 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ipfence.h"

enum { READERS = 4, SWAPS = 6 };

static _Atomic(ipfence_matcher *) current;
static _Atomic(ipfence_matcher *) hazard[READERS];
static atomic_bool stop;

typedef struct {
    int id;
    unsigned long lookups, errors, old_answers, new_answers;
} reader;

/* The matcher to use now, announced in this reader's hazard slot. */
static ipfence_matcher *acquire(int id) {
    ipfence_matcher *m;
    do {
        m = atomic_load(&current);
        atomic_store(&hazard[id], m);
    } while (m != atomic_load(&current));
    return m;
}

static void release(int id) { atomic_store(&hazard[id], NULL); }

static void *read_loop(void *arg) {
    reader *r = arg;
    /* 3.5.140.2 is in both versions; 1.178.86.1 only in the new one. */
    const unsigned char both[4] = {3, 5, 140, 2}, added[4] = {1, 178, 86, 1};
    while (!atomic_load(&stop)) {
        ipfence_matcher *m = acquire(r->id);
        bool a = false, b = false;
        if (ipfence_matcher_contains(m, both, 4, &a) != IPFENCE_RESULT_OK ||
            ipfence_matcher_contains(m, added, 4, &b) != IPFENCE_RESULT_OK || !a)
            r->errors++;
        release(r->id);
        r->lookups += 2;
        if (b)
            r->new_answers++;
        else
            r->old_answers++;
    }
    return NULL;
}

/* Swaps in `next` and frees the previous matcher once no reader holds it. */
static void swap_in(ipfence_matcher *next) {
    ipfence_matcher *old = atomic_exchange(&current, next);
    for (int i = 0; i < READERS; i++)
        while (atomic_load(&hazard[i]) == old) sched_yield();
    ipfence_matcher_free(old);
}

static ipfence_matcher *load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    ipfence_matcher *m = NULL;
    /* Copying load: the buffer can go right away. */
    ipfence_result r = ipfence_matcher_from_blob(buf, got, &m);
    free(buf);
    if (r != IPFENCE_RESULT_OK) {
        char msg[512];
        size_t needed;
        ipfence_last_error_message(msg, sizeof msg, &needed);
        fprintf(stderr, "%s: %s\n", path, msg);
        exit(1);
    }
    return m;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s OLD.blob NEW.blob\n", argv[0]);
        return 1;
    }
    atomic_store(&current, load(argv[1]));
    pthread_t t[READERS];
    reader r[READERS] = {{0}};
    for (int i = 0; i < READERS; i++) {
        r[i].id = i;
        atomic_store(&hazard[i], NULL);
        pthread_create(&t[i], NULL, read_loop, &r[i]);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int s = 0; s < SWAPS; s++) {
        nanosleep(&pause, NULL);
        swap_in(load(argv[(s % 2 == 0) ? 2 : 1])); /* new, old, new, ... */
    }
    nanosleep(&pause, NULL);
    atomic_store(&stop, true);
    unsigned long lookups = 0, errors = 0, olds = 0, news = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        lookups += r[i].lookups;
        errors += r[i].errors;
        olds += r[i].old_answers;
        news += r[i].new_answers;
    }
    ipfence_matcher_free(atomic_exchange(&current, NULL));
    printf("hot_reload: %d swaps, %lu lookups by %d threads, %lu failed; %lu rounds saw the "
           "old version, %lu the new\n",
           SWAPS, lookups, READERS, errors, olds, news);
    return errors == 0 && olds > 0 && news > 0 ? 0 : 1;
}
