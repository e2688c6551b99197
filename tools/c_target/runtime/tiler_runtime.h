/* The tiler's C runtime API: what generated code calls for its DMA transfers.
 *
 * A transfer copies `count` elements, in row-major order of their indices, from an N-d
 * strided source region to an N-d strided destination region (the two may differ in
 * shape; in generated code they are almost always the same box). Strides and sizes are in
 * elements, `first_*` is the row-major position of the first element moved within each
 * region. `tiler_dma_start` may return before the copy is done; the data is only
 * guaranteed in place after `tiler_dma_wait` on the same tag, and a tag carries at most
 * one transfer between a start and its wait.
 *
 * This host implementation (tiler_runtime.c) copies with memcpy. Built with
 * -DTILER_DMA_DEFERRED it copies only at the wait, as a real DMA engine may: a program
 * that reads a buffer before waiting for it then computes wrong results, and starting a
 * second transfer on a busy tag aborts. docs/c_target.md maps the API onto real engines
 * (PULP's cluster DMA, Snitch's snrt_dma_start_2d, a memcpy-only MCU).
 */
#ifndef TILER_RUNTIME_H
#define TILER_RUNTIME_H

#include <stddef.h>

#define TILER_DMA_MAX_RANK 8

typedef struct {
    int busy;
#ifdef TILER_DMA_DEFERRED
    void *dst;
    const void *src;
    long dst_sizes[TILER_DMA_MAX_RANK], dst_strides[TILER_DMA_MAX_RANK];
    long src_sizes[TILER_DMA_MAX_RANK], src_strides[TILER_DMA_MAX_RANK];
    int dst_rank, src_rank;
    long dst_first, src_first, count;
    size_t element_bytes;
#endif
} tiler_dma_tag_t;

/* Start copying `count` elements of `element_bytes` bytes each. */
void tiler_dma_start(tiler_dma_tag_t *tag, size_t element_bytes, long count,
                     void *dst, int dst_rank, const long *dst_sizes, const long *dst_strides, long dst_first,
                     const void *src, int src_rank, const long *src_sizes, const long *src_strides, long src_first);

/* Block until the transfer on `tag` (if any) has landed. */
void tiler_dma_wait(tiler_dma_tag_t *tag);

#endif
