// Synthetic videos as YouTube-8M records: the one place that maps the generator's output onto the
// frame-level and video-level layouts (make-data, bench loader and the tests all write through it).
#pragma once
#include "data/synthetic_video.h"
#include "data/youtube8m.h"

namespace ff::data {

// rgb then audio frames, as the 2018 and 2017 layouts order their frame features.
DecodedFrameLevel frame_level_record(const SyntheticVideo& video);
// mean_rgb then mean_audio.
DecodedVideoLevel video_level_record(const SyntheticVideo& video);

}  // namespace ff::data
