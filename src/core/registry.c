/*
 * registry.c — the one list of operations. Adding a capability is one source
 * file that ends with its pk_op descriptor, plus one line here. The order is
 * the order of `postkit --help` and the README's command reference.
 * The lookups over this list are in op_table.c; the `postkit` command has a
 * light copy of it (src/cli/ops_light_gen.c).
 */
#include "core/internal.h"

extern const pk_op pk_op_probe;
extern const pk_op pk_op_loudness;
extern const pk_op pk_op_normalize;
extern const pk_op pk_op_audio_match;
extern const pk_op pk_op_declip;
extern const pk_op pk_op_qc;
extern const pk_op pk_op_extract_audio;
extern const pk_op pk_op_provenance;
extern const pk_op pk_op_index;
extern const pk_op pk_op_dupes;
extern const pk_op pk_op_search;
extern const pk_op pk_op_catalog_info;
extern const pk_op pk_op_xmp;
extern const pk_op pk_op_faces;
extern const pk_op pk_op_people;
extern const pk_op pk_op_people_name;
extern const pk_op pk_op_people_merge;
extern const pk_op pk_op_people_split;
extern const pk_op pk_op_people_forget;
extern const pk_op pk_op_people_export;
extern const pk_op pk_op_models;
extern const pk_op pk_op_models_install;
extern const pk_op pk_op_models_verify;
extern const pk_op pk_op_thumbnail;
extern const pk_op pk_op_vad;
extern const pk_op pk_op_transcribe;
extern const pk_op pk_op_cut;
extern const pk_op pk_op_photo_match;
extern const pk_op pk_op_photo_auto;

const pk_op *const pk_registry[] = {
    &pk_op_probe,
    &pk_op_loudness,
    &pk_op_normalize,
    &pk_op_audio_match,
    &pk_op_declip,
    &pk_op_qc,
    &pk_op_extract_audio,
    &pk_op_provenance,
    &pk_op_index,
    &pk_op_search,
    &pk_op_dupes,
    &pk_op_xmp,
    &pk_op_faces,
    &pk_op_people,
    &pk_op_people_name,
    &pk_op_people_merge,
    &pk_op_people_split,
    &pk_op_people_forget,
    &pk_op_people_export,
    &pk_op_catalog_info,
    &pk_op_models,
    &pk_op_models_install,
    &pk_op_models_verify,
    &pk_op_thumbnail,
    &pk_op_vad,
    &pk_op_transcribe,
    &pk_op_cut,
    &pk_op_photo_match,
    &pk_op_photo_auto,
};

const size_t pk_registry_len = PK_ARRAY_LEN(pk_registry);
