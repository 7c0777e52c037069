/* SPDX-License-Identifier: ISC */
/* Secret memory, pooled: one pool per context. Blocks of a few size
 * classes are carved from chunks that libsodium maps (sodium_malloc:
 * locked in RAM, kept out of core dumps, guard pages around each chunk);
 * a freed block is wiped and kept for the next request of its class, so
 * that steady-state use makes no system call, where a region of its own
 * per allocation costs an mmap, an mlock, two mprotects and their undoing.
 * Larger requests, and those without a context, still get a region of
 * their own. Every block starts with a header naming its pool, so
 * es_secret_free() takes either kind; the pool's lock lets a block be
 * freed from any thread (a result's plaintext goes wherever the caller
 * takes it), and a pool outlives its context until its last block is
 * back. Under AddressSanitizer, and under valgrind's memcheck, the free
 * blocks, the headers and the slack after each block are off limits, so
 * that an overflow from one block into the next, or a use after free, is
 * reported as it would be between heap blocks. */
#include "core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
/* Client requests: a few instructions when not under valgrind. What is
 * handed out is zero, so defined. */
#include <valgrind/memcheck.h>
#define POISON(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define UNPOISON(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif
#if !defined(POISON)
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HEAD 16u               /* header octets; keeps blocks 16-aligned */
#define MIN_CLASS_SHIFT 6u     /* smallest block: 64 octets with its header */
#define CLASSES 10u            /* 64 .. 32768 */
#define CHUNK_BYTES (64u * 1024u)
#define OWN_REGION 0xffffu     /* class of a block with a region of its own */
#define MAGIC 0x5e5au

typedef struct head {
    es_arena *arena;  /* NULL: a region of its own */
    uint32_t len;     /* octets handed out (wiped on free) */
    uint16_t cls;
    uint16_t magic;
} head;

_Static_assert(sizeof(head) <= HEAD, "block header larger than its room");

typedef struct chunk {
    struct chunk *next;
    uint8_t *base;
} chunk;

struct es_arena {
    pthread_mutex_t lock;
    chunk *chunks;
    uint8_t *bump;        /* unused room of the newest chunk */
    size_t room;
    uint8_t *free_list[CLASSES]; /* freed blocks, linked through their first octets */
    size_t live;          /* blocks handed out and not yet back */
    int orphaned;         /* its context is gone: destroy with the last block */
};

static size_t class_size(unsigned cls)
{
    return (size_t)1 << (cls + MIN_CLASS_SHIFT);
}

/* The smallest class holding len octets and the header, or CLASSES. */
static unsigned class_for(size_t len)
{
    for (unsigned c = 0; c < CLASSES; c++)
        if (len <= class_size(c) - HEAD)
            return c;
    return CLASSES;
}

static head read_head(const uint8_t *block)
{
    head h;
    UNPOISON(block, HEAD);
    memcpy(&h, block, sizeof h);
    POISON(block, HEAD);
    return h;
}

static void write_head(uint8_t *block, const head *h)
{
    UNPOISON(block, HEAD);
    memcpy(block, h, sizeof *h);
    POISON(block, HEAD);
}

/* A free block's first octets link it to the next free block. */
static uint8_t *get_link(uint8_t *block)
{
    uint8_t *next;
    UNPOISON(block + HEAD, sizeof next);
    memcpy(&next, block + HEAD, sizeof next);
    sodium_memzero(block + HEAD, sizeof next);
    POISON(block + HEAD, sizeof next);
    return next;
}

static void set_link(uint8_t *block, uint8_t *next)
{
    UNPOISON(block + HEAD, sizeof next);
    memcpy(block + HEAD, &next, sizeof next);
    POISON(block + HEAD, sizeof next);
}

es_arena *es_arena_new(void)
{
    es_arena *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

static void destroy(es_arena *a)
{
    chunk *c = a->chunks;
    while (c != NULL) {
        chunk *next = c->next;
        UNPOISON(c->base, CHUNK_BYTES);
        sodium_free(c->base); /* wipes the whole chunk */
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void es_arena_release(es_arena *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    int last = a->live == 0;
    a->orphaned = 1;
    pthread_mutex_unlock(&a->lock);
    if (last)
        destroy(a);
}

/* Carve what is left of the newest chunk into free blocks (largest
 * classes first), so that a new chunk wastes nothing of the old. */
static void spill(es_arena *a)
{
    for (unsigned c = CLASSES; c-- > 0 && a->room > 0;) {
        while (a->room >= class_size(c)) {
            uint8_t *b = a->bump;
            a->bump += class_size(c);
            a->room -= class_size(c);
            set_link(b, a->free_list[c]);
            a->free_list[c] = b;
        }
    }
}

/* A block of class c, or NULL; the lock is held. */
static uint8_t *take(es_arena *a, unsigned c)
{
    uint8_t *b = a->free_list[c];
    if (b != NULL) {
        a->free_list[c] = get_link(b);
        return b;
    }
    if (a->room < class_size(c)) {
        chunk *ch = malloc(sizeof *ch);
        uint8_t *base = ch != NULL ? sodium_malloc(CHUNK_BYTES) : NULL;
        if (base == NULL) {
            free(ch);
            return NULL;
        }
        spill(a);
        memset(base, 0, CHUNK_BYTES);
        POISON(base, CHUNK_BYTES);
        ch->base = base;
        ch->next = a->chunks;
        a->chunks = ch;
        a->bump = base;
        a->room = CHUNK_BYTES;
    }
    b = a->bump;
    a->bump += class_size(c);
    a->room -= class_size(c);
    return b;
}

/* A region of its own: sodium_malloc with the header in front. */
static void *own_region(size_t len)
{
    if (len > SIZE_MAX - 2 * HEAD || len > UINT32_MAX)
        return NULL;
    /* sodium_malloc needs sodium_init (idempotent, thread-safe) even when
     * no context was created yet. */
    if (sodium_init() < 0)
        return NULL;
    size_t total = HEAD + ((len + HEAD - 1) / HEAD) * HEAD;
    uint8_t *b = sodium_malloc(total);
    if (b == NULL)
        return NULL;
    head h = {NULL, (uint32_t)len, OWN_REGION, MAGIC};
    memset(b, 0, total);
    write_head(b, &h);
    return b + HEAD;
}

void *es_arena_alloc(es_arena *a, size_t len)
{
    unsigned c = class_for(len);
    if (a == NULL || c == CLASSES)
        return own_region(len);
    pthread_mutex_lock(&a->lock);
    uint8_t *b = take(a, c);
    if (b != NULL)
        a->live++;
    pthread_mutex_unlock(&a->lock);
    if (b == NULL)
        return NULL;
    POISON(b + HEAD, class_size(c) - HEAD);
    head h = {a, (uint32_t)len, (uint16_t)c, MAGIC};
    write_head(b, &h);
    UNPOISON(b + HEAD, len);
    return b + HEAD; /* zero: wiped when it was last freed, or new */
}

void es_arena_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *b = (uint8_t *)p - HEAD;
    head h = read_head(b);
    if (h.magic != MAGIC)
        return; /* not a block of ours: leave it rather than free a stranger */
    sodium_memzero(p, h.len);
    if (h.cls == OWN_REGION) {
        UNPOISON(b, HEAD);
        sodium_free(b);
        return;
    }
    es_arena *a = h.arena;
    POISON(p, class_size(h.cls) - HEAD);
    pthread_mutex_lock(&a->lock);
    set_link(b, a->free_list[h.cls]);
    a->free_list[h.cls] = b;
    a->live--;
    int last = a->orphaned && a->live == 0;
    pthread_mutex_unlock(&a->lock);
    if (last)
        destroy(a);
}
