/* Links liblivekit_ffi through its header and round-trips requests with
 * hand-encoded protobuf bytes, as a C host without a protobuf library would.
 * Exit status 0 means every check passed. */
#include <stdio.h>
#include <string.h>

#include "livekit_ffi.h"

static int events;

static void on_event(const uint8_t *data, size_t len) {
    (void)data;
    (void)len;
    events++;
}

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "check failed: %s (line %d)\n", #cond,    \
                    __LINE__);                                        \
            return 1;                                                 \
        }                                                             \
    } while (0)

int main(void) {
    livekit_ffi_initialize(on_event, false, "c", "0.0.0");

    /* FfiRequest { new_audio_resampler (field 29): {} } */
    const uint8_t request[] = {0xEA, 0x01, 0x00};
    const uint8_t *res = NULL;
    size_t res_len = 0;
    FfiHandleId response = livekit_ffi_request(request, sizeof request, &res, &res_len);
    CHECK(response != 0);
    CHECK(res != NULL && res_len > 4);
    /* FfiResponse { new_audio_resampler (29): { resampler (1): { handle (1): { id (1) } } } } */
    CHECK(res[0] == 0xEA && res[1] == 0x01);
    CHECK(res[3] == 0x0A && res[5] == 0x0A && res[7] == 0x08);
    CHECK(res[8] < 0x80); /* a one-byte varint in a fresh process */
    FfiHandleId resampler = res[8];
    CHECK(resampler != 0 && resampler != response);
    CHECK(livekit_ffi_drop_handle(response));
    CHECK(livekit_ffi_drop_handle(resampler));
    CHECK(!livekit_ffi_drop_handle(resampler));

    /* Garbage is refused without touching the out-parameters. */
    const uint8_t garbage[] = {0xFF, 0xFF, 0xFF};
    res = NULL;
    CHECK(livekit_ffi_request(garbage, sizeof garbage, &res, &res_len) == 0);
    CHECK(res == NULL);

    livekit_ffi_dispose();
    printf("c round trip ok\n");
    return 0;
}
