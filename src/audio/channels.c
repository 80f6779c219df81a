/*
 * channels.c — which BS.1770-4 weight each channel of an FFmpeg layout gets.
 *
 * BS.1770-4 Table 3 weighs L, R, C by 1.0 and the surrounds Ls, Rs (110
 * degrees) by 1.41, and says a channel at 60..120 degrees azimuth (and below
 * 30 degrees elevation) takes 1.41, any other 1.0; LFE is not measured.
 * FFmpeg names the surround pair of a 5.1 programme "back" (layout "5.1") or
 * "side" ("5.1(side)"): both are the 110-degree pair. Only when a layout has
 * both pairs (7.1) are the back channels really behind the listener (135-150
 * degrees), so they weigh 1.0 there.
 */
#include "audio/internal.h"

#include <string.h>

#include <libavutil/channel_layout.h>

static double weight_of(enum AVChannel ch, int has_side)
{
    switch (ch) {
    case AV_CHAN_LOW_FREQUENCY:
    case AV_CHAN_LOW_FREQUENCY_2:
        return 0.0;
    case AV_CHAN_SIDE_LEFT:
    case AV_CHAN_SIDE_RIGHT:
    case AV_CHAN_WIDE_LEFT:
    case AV_CHAN_WIDE_RIGHT:
    case AV_CHAN_SURROUND_DIRECT_LEFT:
    case AV_CHAN_SURROUND_DIRECT_RIGHT:
        return 1.41;
    case AV_CHAN_BACK_LEFT:
    case AV_CHAN_BACK_RIGHT:
        return has_side ? 1.0 : 1.41;
    default:
        return 1.0;
    }
}

pk_status pk_channel_weights(pk_ctx *ctx, const char *layout, int channels,
                             char names[][16], double *weights)
{
    AVChannelLayout cl = {0};
    if (layout && *layout) {
        if (av_channel_layout_from_string(&cl, layout) < 0)
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "unknown channel layout \"%s\"", layout);
        if (cl.nb_channels != channels) {
            av_channel_layout_uninit(&cl);
            return pk_fail(ctx, PK_ERR_USAGE, NULL, "channel layout \"%s\" has %d channels, not %d",
                           layout, cl.nb_channels, channels);
        }
    } else {
        av_channel_layout_default(&cl, channels);
    }
    int has_side = av_channel_layout_index_from_channel(&cl, AV_CHAN_SIDE_LEFT) >= 0;
    for (int i = 0; i < channels; i++) {
        enum AVChannel ch = av_channel_layout_channel_from_index(&cl, (unsigned)i);
        if (ch == AV_CHAN_NONE || cl.order == AV_CHANNEL_ORDER_UNSPEC) {
            /* Unknown positions: weigh as front channels, the BS.1770 default. */
            snprintf(names[i], 16, "ch%d", i + 1);
            weights[i] = 1.0;
            continue;
        }
        if (av_channel_name(names[i], 16, ch) < 0)
            snprintf(names[i], 16, "ch%d", i + 1);
        weights[i] = weight_of(ch, has_side);
    }
    av_channel_layout_uninit(&cl);
    return PK_OK;
}
