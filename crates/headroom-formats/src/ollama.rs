//! Ollama's manifests (`models/manifests/REGISTRY/NAMESPACE/NAME/TAG`): the digest of the layer
//! that holds the model's GGUF, whose blob is `models/blobs/sha256-HEX`.

use crate::FormatError;

/// The most bytes of a manifest parsed; real ones are under 2 KiB.
pub const MAX_MANIFEST_BYTES: usize = 64 << 10;
/// The most layers a manifest may list.
const MAX_LAYERS: usize = 64;
/// The media type of the layer holding the GGUF weights.
pub const MODEL_MEDIA_TYPE: &str = "application/vnd.ollama.image.model";

fn json_err(field: &str, problem: impl Into<String>) -> FormatError {
    FormatError::Json {
        field: field.into(),
        problem: problem.into(),
    }
}

/// The lower-case hex SHA-256 of the model layer in a manifest; its blob file is
/// `blobs/sha256-HEX` (see [`blob_file_name`]).
pub fn model_digest(bytes: &[u8]) -> Result<String, FormatError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(FormatError::TooLarge {
            what: "Ollama manifest".into(),
            value: bytes.len() as u64,
            limit: MAX_MANIFEST_BYTES as u64,
        });
    }
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| json_err("(manifest)", e.to_string()))?;
    let layers = v
        .get("layers")
        .and_then(|l| l.as_array())
        .ok_or_else(|| json_err("layers", "missing or not an array"))?;
    if layers.len() > MAX_LAYERS {
        return Err(FormatError::TooLarge {
            what: "Ollama manifest layers".into(),
            value: layers.len() as u64,
            limit: MAX_LAYERS as u64,
        });
    }
    let layer = layers
        .iter()
        .find(|l| l.get("mediaType").and_then(|m| m.as_str()) == Some(MODEL_MEDIA_TYPE))
        .ok_or_else(|| {
            json_err(
                "layers",
                format!("no layer of mediaType {MODEL_MEDIA_TYPE}"),
            )
        })?;
    let digest = layer
        .get("digest")
        .and_then(|d| d.as_str())
        .ok_or_else(|| json_err("layers[].digest", "missing or not a string"))?;
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| json_err("layers[].digest", format!("`{digest}` is not sha256:HEX")))?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(json_err(
            "layers[].digest",
            format!("`{digest}` is not 64 hex digits after sha256:"),
        ));
    }
    Ok(hex.to_ascii_lowercase())
}

/// The blob's file name under `models/blobs/` for a digest from [`model_digest`].
pub fn blob_file_name(hex: &str) -> String {
    format!("sha256-{hex}")
}

/// The name Ollama shows for a manifest at `REGISTRY/NAMESPACE/NAME/TAG` under `manifests/`:
/// `NAME:TAG` for the default registry's library, else the full path with `:TAG`.
pub fn model_name(registry: &str, namespace: &str, name: &str, tag: &str) -> String {
    if registry == "registry.ollama.ai" && namespace == "library" {
        format!("{name}:{tag}")
    } else if registry == "registry.ollama.ai" {
        format!("{namespace}/{name}:{tag}")
    } else {
        format!("{registry}/{namespace}/{name}:{tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";

    fn manifest(layers: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:{HEX}","size":485}},
            "layers":[{layers}]}}"#
        )
    }

    fn check(input: &str, expected: Result<&str, &str>) {
        match (model_digest(input.as_bytes()), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
            (got, want) => panic!("got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn finds_the_model_layer_among_others() {
        let layers = format!(
            r#"{{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:{}","size":1}},
            {{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{}","size":2019377376}}"#,
            "0".repeat(64),
            HEX.to_ascii_uppercase()
        );
        check(&manifest(&layers), Ok(HEX));
    }

    #[test]
    fn bad_manifests_name_the_field() {
        check("not json", Err("(manifest)"));
        check("{}", Err("`layers`: missing"));
        let template =
            r#"{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:00"}"#;
        check(&manifest(template), Err("no layer of mediaType"));
        let md5 = r#"{"mediaType":"application/vnd.ollama.image.model","digest":"md5:00"}"#;
        check(&manifest(md5), Err("is not sha256:HEX"));
        let short = r#"{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:abc"}"#;
        check(&manifest(short), Err("64 hex digits"));
        let traversal = format!(
            r#"{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../{}"}}"#,
            "a".repeat(58)
        );
        check(&manifest(&traversal), Err("64 hex digits"));
        let no_digest = r#"{"mediaType":"application/vnd.ollama.image.model"}"#;
        check(&manifest(no_digest), Err("layers[].digest"));
    }

    #[test]
    fn oversized_manifests_are_refused_before_parsing() {
        let big = " ".repeat(MAX_MANIFEST_BYTES + 1);
        check(&big, Err("over the limit of 65536"));
        let many = vec![r#"{"mediaType":"x","digest":"y"}"#; MAX_LAYERS + 1].join(",");
        check(&manifest(&many), Err("layers is 65, over the limit of 64"));
    }

    #[test]
    fn names_follow_ollama() {
        assert_eq!(
            model_name("registry.ollama.ai", "library", "llama3.2", "3b"),
            "llama3.2:3b"
        );
        assert_eq!(
            model_name("registry.ollama.ai", "alice", "m", "latest"),
            "alice/m:latest"
        );
        assert_eq!(
            model_name("hf.co", "bartowski", "Qwen3-8B-GGUF", "Q4_K_M"),
            "hf.co/bartowski/Qwen3-8B-GGUF:Q4_K_M"
        );
        assert_eq!(blob_file_name(HEX), format!("sha256-{HEX}"));
    }
}
