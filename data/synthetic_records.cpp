#include "data/synthetic_records.h"

namespace ff::data {

DecodedFrameLevel frame_level_record(const SyntheticVideo& video) {
  return DecodedFrameLevel{video.id, video.labels, video.num_frames, {video.rgb, video.audio}};
}

DecodedVideoLevel video_level_record(const SyntheticVideo& video) {
  return DecodedVideoLevel{video.id, video.labels, {video.mean_rgb, video.mean_audio}};
}

}  // namespace ff::data
