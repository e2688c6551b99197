/* Host implementation of tiler_runtime.h: transfers are memcpy, done at the start, or at
 * the wait with -DTILER_DMA_DEFERRED. */
#include "tiler_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte offset of the element at row-major position `position` of a strided region. */
static long offset_of(long position, int rank, const long *sizes, const long *strides) {
    long offset = 0;
    for (int d = rank - 1; d >= 0; --d) {
        long size = sizes[d] > 0 ? sizes[d] : 1;
        offset += (position % size) * strides[d];
        position /= size;
    }
    return offset;
}

static int same_box(int dst_rank, const long *dst_sizes, int src_rank, const long *src_sizes, long count) {
    long elements = 1;
    if (dst_rank != src_rank) return 0;
    for (int d = 0; d < dst_rank; ++d) {
        if (dst_sizes[d] != src_sizes[d]) return 0;
        elements *= dst_sizes[d];
    }
    return elements == count;
}

static void copy(size_t element_bytes, long count,
                 char *dst, int dst_rank, const long *dst_sizes, const long *dst_strides, long dst_first,
                 const char *src, int src_rank, const long *src_sizes, const long *src_strides, long src_first) {
    if (count <= 0) return;
    if (dst_first == 0 && src_first == 0 && dst_rank > 0 &&
        same_box(dst_rank, dst_sizes, src_rank, src_sizes, count) &&
        dst_strides[dst_rank - 1] == 1 && src_strides[src_rank - 1] == 1) {
        /* the common case: the same box on both sides, rows contiguous: one memcpy per row */
        long row = dst_sizes[dst_rank - 1];
        for (long r = 0; r < count / row; ++r) {
            long d = offset_of(r * row, dst_rank, dst_sizes, dst_strides);
            long s = offset_of(r * row, src_rank, src_sizes, src_strides);
            memcpy(dst + d * (long)element_bytes, src + s * (long)element_bytes, (size_t)row * element_bytes);
        }
        return;
    }
    for (long k = 0; k < count; ++k) {
        long d = offset_of(dst_first + k, dst_rank, dst_sizes, dst_strides);
        long s = offset_of(src_first + k, src_rank, src_sizes, src_strides);
        memcpy(dst + d * (long)element_bytes, src + s * (long)element_bytes, element_bytes);
    }
}

void tiler_dma_start(tiler_dma_tag_t *tag, size_t element_bytes, long count,
                     void *dst, int dst_rank, const long *dst_sizes, const long *dst_strides, long dst_first,
                     const void *src, int src_rank, const long *src_sizes, const long *src_strides, long src_first) {
    if (tag->busy) {
        fprintf(stderr, "tiler_dma_start: a transfer on this tag was not waited for\n");
        abort();
    }
    if (dst_rank > TILER_DMA_MAX_RANK || src_rank > TILER_DMA_MAX_RANK) {
        fprintf(stderr, "tiler_dma_start: rank above %d\n", TILER_DMA_MAX_RANK);
        abort();
    }
    tag->busy = 1;
#ifdef TILER_DMA_DEFERRED
    tag->dst = dst;
    tag->src = src;
    tag->dst_rank = dst_rank;
    tag->src_rank = src_rank;
    for (int d = 0; d < dst_rank; ++d) {
        tag->dst_sizes[d] = dst_sizes[d];
        tag->dst_strides[d] = dst_strides[d];
    }
    for (int d = 0; d < src_rank; ++d) {
        tag->src_sizes[d] = src_sizes[d];
        tag->src_strides[d] = src_strides[d];
    }
    tag->dst_first = dst_first;
    tag->src_first = src_first;
    tag->count = count;
    tag->element_bytes = element_bytes;
#else
    copy(element_bytes, count, (char *)dst, dst_rank, dst_sizes, dst_strides, dst_first,
         (const char *)src, src_rank, src_sizes, src_strides, src_first);
#endif
}

void tiler_dma_wait(tiler_dma_tag_t *tag) {
#ifdef TILER_DMA_DEFERRED
    if (tag->busy) {
        copy(tag->element_bytes, tag->count, (char *)tag->dst, tag->dst_rank, tag->dst_sizes, tag->dst_strides,
             tag->dst_first, (const char *)tag->src, tag->src_rank, tag->src_sizes, tag->src_strides, tag->src_first);
    }
#endif
    tag->busy = 0;
}
