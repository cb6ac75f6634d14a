//! RFC 3161 requests and tokens: building a `TimeStampReq` and checking a
//! `TimeStampResp` or a stored token completely. Pure code, no I/O.
//!
//! A token is accepted only when all of these hold:
//! - the response status is granted (0) or grantedWithMods (1);
//! - the token is CMS SignedData whose content type is id-ct-TSTInfo;
//! - the TSTInfo message imprint is SHA-256 of the data and, when a nonce was
//!   sent, the TSTInfo carries the same nonce;
//! - the signed attributes carry content type id-ct-TSTInfo, a message digest
//!   equal to the hash of the TSTInfo, and an ESS signing-certificate (v1 or v2)
//!   whose hash matches the signer's certificate;
//! - the RSA signature over the signed attributes verifies with that certificate;
//! - the signer's certificate has a critical extendedKeyUsage of exactly
//!   timeStamping, and genTime lies within its validity;
//! - the signer's certificate chains to one of the trust anchors by RFC 5280
//!   path validation (`rustls-webpki`, see `build_chain`): every signature,
//!   every issuer a CA within its path length and allowed to sign
//!   certificates (keyCertSign), the signer not a CA, every certificate
//!   valid at genTime.

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5912::{
    ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION,
    SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, Tagged};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-signedData (RFC 5652 §5.1).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// ESS signing-certificate (RFC 2634, SHA-1 certificate hash).
const ID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// ESS signing-certificate v2 (RFC 5035, SHA-256 unless stated).
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// Why a response or token was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("not a DER-encoded {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("the TSA refused the request: status {status}{text}")]
    Refused { status: u8, text: String },
    #[error("the message imprint is {found}, expected SHA-256 {expected}")]
    WrongImprint { expected: String, found: String },
    #[error("the nonce in the token ({found}) is not the one sent ({expected})")]
    WrongNonce { expected: String, found: String },
    #[error("the token's signed message digest does not match its TSTInfo")]
    DigestMismatch,
    #[error("the token's signature does not verify: {0}")]
    BadSignature(String),
    #[error("the token names no signing certificate, or it is not in the token")]
    SignerCertificateMissing,
    #[error("the signing certificate {subject} is not a TSA certificate: {reason}")]
    NotTsaCertificate { subject: String, reason: String },
    #[error("certificate {subject} is not valid at the stamped time {time} (valid {not_before} to {not_after})")]
    OutsideValidity {
        subject: String,
        time: String,
        not_before: String,
        not_after: String,
    },
    #[error("the TSA certificate {subject} does not chain to a trust anchor: {reason}")]
    Untrusted { subject: String, reason: String },
    #[error("unsupported algorithm {0}")]
    Unsupported(String),
}

/// What a checked token says.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedToken {
    /// The time the TSA vouches for.
    pub gen_time: DateTime<Utc>,
    /// The token's serial number, as lowercase hex.
    pub serial: String,
    /// The TSA certificate's subject, e.g. `CN=Example TSA,O=Example`.
    pub tsa_name: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The TSA certificate and the chain up to (and including) the anchor, DER.
    pub chain: Vec<Vec<u8>>,
}

/// A `TimeStampReq` over `sha256` asking for the TSA certificate, DER-encoded.
pub fn build_request(sha256: &[u8; 32], nonce: u64) -> Vec<u8> {
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: sha256_imprint(sha256),
        req_policy: None,
        nonce: Some(nonce_int(nonce)),
        cert_req: true,
        extensions: None,
    };
    request.to_der().expect("a TimeStampReq always encodes")
}

/// Checks a TSA's HTTP answer to `build_request(sha256, nonce)` and returns
/// the token (a DER ContentInfo, what `.tsr` token files hold) with what it says.
pub fn check_response(
    response_der: &[u8],
    sha256: &[u8; 32],
    nonce: u64,
    anchors: &[Certificate],
) -> Result<(Vec<u8>, VerifiedToken), TokenError> {
    let response = TimeStampResp::from_der(response_der).map_err(|e| TokenError::Malformed {
        what: "TimeStampResp",
        reason: e.to_string(),
    })?;
    let status = response.status.status as u8;
    if status > 1 {
        let text = response
            .status
            .status_string
            .as_ref()
            .map(|texts| {
                let parts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
                format!(" ({})", parts.join("; "))
            })
            .unwrap_or_default();
        return Err(TokenError::Refused { status, text });
    }
    let token = response.time_stamp_token.ok_or(TokenError::Malformed {
        what: "TimeStampResp",
        reason: "status granted but no token".into(),
    })?;
    let token_der = token.to_der().map_err(|e| TokenError::Malformed {
        what: "TimeStampToken",
        reason: e.to_string(),
    })?;
    let verified = verify_token(&token_der, sha256, Some(nonce), anchors)?;
    Ok((token_der, verified))
}

/// Checks a stored token (DER ContentInfo) over `sha256`.
pub fn verify_token(
    token_der: &[u8],
    sha256: &[u8; 32],
    nonce: Option<u64>,
    anchors: &[Certificate],
) -> Result<VerifiedToken, TokenError> {
    let signed = SignedToken::parse(token_der)?;

    let imprint = &signed.tst_info.message_imprint;
    if imprint.hash_algorithm.oid != ID_SHA_256
        || imprint.hashed_message.as_bytes() != sha256.as_slice()
    {
        return Err(TokenError::WrongImprint {
            expected: hex::encode(sha256),
            found: format!(
                "{} {}",
                algorithm_name(&imprint.hash_algorithm.oid),
                hex::encode(imprint.hashed_message.as_bytes())
            ),
        });
    }
    if let Some(nonce) = nonce {
        let expected = nonce_int(nonce);
        match &signed.tst_info.nonce {
            Some(found) if found.as_bytes() == expected.as_bytes() => {}
            found => {
                return Err(TokenError::WrongNonce {
                    expected: hex::encode(expected.as_bytes()),
                    found: found
                        .as_ref()
                        .map(|n| hex::encode(n.as_bytes()))
                        .unwrap_or_else(|| "none".into()),
                })
            }
        }
    }

    let signer = signed.signer_certificate()?;
    check_tsa_certificate(signer)?;
    signed.check_signed_attributes(signer)?;
    signed.check_signature(signer)?;

    let gen_time = generalized_time(&signed.tst_info.gen_time);
    let chain = build_chain(signer, &signed.certificates, anchors, gen_time)?;

    Ok(VerifiedToken {
        gen_time,
        serial: hex::encode(signed.tst_info.serial_number.as_bytes()),
        tsa_name: signer.tbs_certificate.subject.to_string(),
        policy: signed.tst_info.policy.to_string(),
        chain: chain
            .iter()
            .map(|c| c.to_der().expect("a decoded certificate encodes"))
            .collect(),
    })
}

/// Reads what a token says without checking it (for display of unverified data).
pub fn read_token_time(token_der: &[u8]) -> Result<DateTime<Utc>, TokenError> {
    Ok(generalized_time(
        &SignedToken::parse(token_der)?.tst_info.gen_time,
    ))
}

/// A token taken apart. Certificates are read one by one rather than as a
/// DER SET, because some TSAs (OpenSSL's among them) include the same
/// certificate twice, which strict SET OF decoding rejects.
struct SignedToken {
    tst_info_der: Vec<u8>,
    tst_info: TstInfo,
    certificates: Vec<Certificate>,
    signer_info: SignerInfo,
}

impl SignedToken {
    fn parse(token_der: &[u8]) -> Result<SignedToken, TokenError> {
        let malformed = |what: &'static str| {
            move |e: der::Error| TokenError::Malformed {
                what,
                reason: e.to_string(),
            }
        };
        let content_info = ContentInfo::from_der(token_der).map_err(malformed("ContentInfo"))?;
        if content_info.content_type != ID_SIGNED_DATA {
            return Err(TokenError::Malformed {
                what: "TimeStampToken",
                reason: format!(
                    "content type {} is not signedData",
                    content_info.content_type
                ),
            });
        }
        let parts: Vec<Any> = content_info
            .content
            .decode_as()
            .map_err(malformed("SignedData"))?;
        let mut parts = parts.into_iter();
        let missing = |field: &str| TokenError::Malformed {
            what: "SignedData",
            reason: format!("{field} is missing"),
        };
        let _version = parts.next().ok_or_else(|| missing("version"))?;
        let _digest_algorithms = parts.next().ok_or_else(|| missing("digestAlgorithms"))?;
        let encapsulated: EncapsulatedContentInfo = parts
            .next()
            .ok_or_else(|| missing("encapContentInfo"))?
            .decode_as()
            .map_err(malformed("EncapsulatedContentInfo"))?;
        let mut certificates = Vec::new();
        let mut signer_infos = None;
        for part in parts {
            match part.tag() {
                Tag::ContextSpecific { number, .. } if number.value() == 0 => {
                    let mut reader =
                        SliceReader::new(part.value()).map_err(malformed("certificates"))?;
                    while !reader.is_finished() {
                        certificates.push(
                            Certificate::decode(&mut reader).map_err(malformed("certificate"))?,
                        );
                    }
                }
                Tag::ContextSpecific { .. } => {} // CRLs: not used
                Tag::Set => signer_infos = Some(part),
                other => {
                    return Err(TokenError::Malformed {
                        what: "SignedData",
                        reason: format!("unexpected element {other}"),
                    })
                }
            }
        }
        let signer_infos = signer_infos.ok_or_else(|| missing("signerInfos"))?;
        let mut reader =
            SliceReader::new(signer_infos.value()).map_err(malformed("signerInfos"))?;
        let signer_info = SignerInfo::decode(&mut reader).map_err(malformed("SignerInfo"))?;
        if !reader.is_finished() {
            return Err(TokenError::Malformed {
                what: "SignedData",
                reason: "a timestamp token must have exactly one signer".into(),
            });
        }

        if encapsulated.econtent_type != ID_CT_TST_INFO {
            return Err(TokenError::Malformed {
                what: "TimeStampToken",
                reason: format!(
                    "encapsulated content type {} is not id-ct-TSTInfo",
                    encapsulated.econtent_type
                ),
            });
        }
        let econtent = encapsulated.econtent.ok_or_else(|| missing("eContent"))?;
        let octets: OctetString = econtent.decode_as().map_err(malformed("eContent"))?;
        let tst_info_der = octets.as_bytes().to_vec();
        let tst_info = TstInfo::from_der(&tst_info_der).map_err(malformed("TSTInfo"))?;
        Ok(SignedToken {
            tst_info_der,
            tst_info,
            certificates,
            signer_info,
        })
    }

    /// The certificate the signer info points at.
    fn signer_certificate(&self) -> Result<&Certificate, TokenError> {
        self.certificates
            .iter()
            .find(|cert| match &self.signer_info.sid {
                SignerIdentifier::IssuerAndSerialNumber(id) => {
                    cert.tbs_certificate.issuer == id.issuer
                        && cert.tbs_certificate.serial_number == id.serial_number
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => {
                    subject_key_identifier(cert).as_deref() == Some(ski.0.as_bytes())
                }
            })
            .ok_or(TokenError::SignerCertificateMissing)
    }

    fn check_signed_attributes(&self, signer: &Certificate) -> Result<(), TokenError> {
        let attributes = self
            .signer_info
            .signed_attrs
            .as_ref()
            .ok_or(TokenError::BadSignature("no signed attributes".into()))?;
        let value_of = |oid: ObjectIdentifier| {
            attributes
                .iter()
                .find(|a| a.oid == oid)
                .and_then(|a| a.values.iter().next())
        };

        let content_type = value_of(ID_CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            .ok_or(TokenError::BadSignature("no content-type attribute".into()))?;
        if content_type != ID_CT_TST_INFO {
            return Err(TokenError::BadSignature(format!(
                "signed content type {content_type} is not id-ct-TSTInfo"
            )));
        }

        let digest = value_of(ID_MESSAGE_DIGEST)
            .and_then(|v| v.decode_as::<OctetString>().ok())
            .ok_or(TokenError::BadSignature(
                "no message-digest attribute".into(),
            ))?;
        let expected = digest_with(&self.signer_info.digest_alg.oid, &self.tst_info_der)?;
        if digest.as_bytes() != expected.as_slice() {
            return Err(TokenError::DigestMismatch);
        }

        let signer_der = signer.to_der().expect("a decoded certificate encodes");
        let (hash_oid, cert_hash) = if let Some(v2) = value_of(ID_SIGNING_CERTIFICATE_V2) {
            ess_cert_hash(v2, true)?
        } else if let Some(v1) = value_of(ID_SIGNING_CERTIFICATE) {
            ess_cert_hash(v1, false)?
        } else {
            return Err(TokenError::BadSignature(
                "no ESS signing-certificate attribute".into(),
            ));
        };
        if cert_hash != digest_with(&hash_oid, &signer_der)? {
            return Err(TokenError::BadSignature(
                "the ESS signing-certificate hash does not match the signer's certificate".into(),
            ));
        }
        Ok(())
    }

    fn check_signature(&self, signer: &Certificate) -> Result<(), TokenError> {
        let attributes = self
            .signer_info
            .signed_attrs
            .as_ref()
            .expect("checked by check_signed_attributes");
        // The signature covers the DER of the attributes as a SET OF, not as
        // the [0] IMPLICIT field they are stored in.
        let signed_bytes = attributes.to_der().map_err(|e| TokenError::Malformed {
            what: "signed attributes",
            reason: e.to_string(),
        })?;
        verify_rsa(
            signer,
            &self.signer_info.signature_algorithm.oid,
            &self.signer_info.digest_alg.oid,
            &signed_bytes,
            self.signer_info.signature.as_bytes(),
        )
    }
}

/// (hash algorithm, certificate hash) of the first ESSCertID[v2] in a
/// SigningCertificate[V2] attribute value.
fn ess_cert_hash(value: &Any, v2: bool) -> Result<(ObjectIdentifier, Vec<u8>), TokenError> {
    let bad = |reason: &str| TokenError::BadSignature(format!("ESS signing-certificate: {reason}"));
    let outer: Vec<Any> = value.decode_as().map_err(|_| bad("not a SEQUENCE"))?;
    let certs: Vec<Any> = outer
        .first()
        .ok_or_else(|| bad("empty"))?
        .decode_as()
        .map_err(|_| bad("certs is not a SEQUENCE OF"))?;
    let first: Vec<Any> = certs
        .first()
        .ok_or_else(|| bad("no ESSCertID"))?
        .decode_as()
        .map_err(|_| bad("ESSCertID is not a SEQUENCE"))?;
    let mut fields = first.iter();
    let mut field = fields.next().ok_or_else(|| bad("empty ESSCertID"))?;
    let mut hash_oid = if v2 { ID_SHA_256 } else { ID_SHA1 };
    if v2 && field.tag() == Tag::Sequence {
        let algorithm: x509_cert::spki::AlgorithmIdentifierOwned =
            field.decode_as().map_err(|_| bad("bad hashAlgorithm"))?;
        hash_oid = algorithm.oid;
        field = fields.next().ok_or_else(|| bad("no certHash"))?;
    }
    let hash: OctetString = field
        .decode_as()
        .map_err(|_| bad("certHash is not an OCTET STRING"))?;
    Ok((hash_oid, hash.as_bytes().to_vec()))
}

fn check_tsa_certificate(cert: &Certificate) -> Result<(), TokenError> {
    let subject = cert.tbs_certificate.subject.to_string();
    let not_tsa = |reason: &str| TokenError::NotTsaCertificate {
        subject: subject.clone(),
        reason: reason.to_string(),
    };
    let extension = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
        .ok_or_else(|| not_tsa("it has no extendedKeyUsage extension"))?;
    if !extension.critical {
        return Err(not_tsa("its extendedKeyUsage extension is not critical"));
    }
    let usages: Vec<ObjectIdentifier> = Vec::from_der(extension.extn_value.as_bytes())
        .map_err(|_| not_tsa("its extendedKeyUsage extension cannot be read"))?;
    if usages != [ID_KP_TIME_STAMPING] {
        return Err(not_tsa(
            "its extendedKeyUsage must be exactly timeStamping (1.3.6.1.5.5.7.3.8)",
        ));
    }
    Ok(())
}

/// The path from `leaf` to a trust anchor, checked by `rustls-webpki` (RFC
/// 5280 path validation as browsers do it): every link's signature; every
/// issuer a CA (`basicConstraints` CA:TRUE) within its `pathLenConstraint`;
/// the TSA certificate not a CA; every certificate valid at `time`; name
/// constraints; an issuer that restricts its extendedKeyUsage must allow
/// timeStamping. webpki ignores keyUsage, so a path is accepted only when
/// every issuer's keyUsage, when present, has keyCertSign (RFC 5280 §6.1.4
/// (n)); otherwise another path is tried. Returns the TSA certificate, the
/// intermediates and the anchor.
fn build_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    time: DateTime<Utc>,
) -> Result<Vec<Certificate>, TokenError> {
    use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};

    let leaf_subject = leaf.tbs_certificate.subject.to_string();
    let untrusted = |reason: String| TokenError::Untrusted {
        subject: leaf_subject.clone(),
        reason,
    };
    if anchors.is_empty() {
        return Err(untrusted(
            "no trust anchors are configured (timestamp.trust_anchors)".into(),
        ));
    }
    // The TSA certificate's own validity first, so its error names it.
    check_validity(leaf, time)?;
    let encode = |cert: &Certificate| {
        cert.to_der().map_err(|e| TokenError::Malformed {
            what: "certificate",
            reason: e.to_string(),
        })
    };
    let leaf_der = CertificateDer::from(encode(leaf)?);
    let end_entity =
        webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| TokenError::NotTsaCertificate {
            subject: leaf_subject.clone(),
            reason: format!("it cannot be read as an X.509 v3 certificate ({e})"),
        })?;
    let intermediate_ders = intermediates
        .iter()
        .map(|c| encode(c).map(CertificateDer::from))
        .collect::<Result<Vec<_>, _>>()?;
    let anchor_ders = anchors
        .iter()
        .map(|c| encode(c).map(CertificateDer::from))
        .collect::<Result<Vec<_>, _>>()?;
    // An anchor webpki cannot read is left out; `anchor_of` keeps where
    // each one came from, to return the certificate behind it.
    let (anchor_of, anchor_list): (Vec<usize>, Vec<TrustAnchor<'_>>) = anchor_ders
        .iter()
        .enumerate()
        .filter_map(|(i, der)| webpki::anchor_from_trusted_cert(der).ok().map(|a| (i, a)))
        .unzip();
    let anchor_index = |anchor: &TrustAnchor<'_>| {
        anchor_list
            .iter()
            .position(|a| std::ptr::eq(a, anchor))
            .map(|i| anchor_of[i])
    };

    // The first issuer found without keyCertSign, for the error.
    let refused_issuer = std::cell::RefCell::new(None::<String>);
    let may_sign = |path: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let mut issuers: Vec<Certificate> = Vec::new();
        for cert in path.intermediate_certificates() {
            issuers.push(
                Certificate::from_der(cert.der().as_ref()).map_err(|_| webpki::Error::BadDer)?,
            );
        }
        if let Some(i) = anchor_index(path.anchor()) {
            issuers.push(anchors[i].clone());
        }
        for issuer in &issuers {
            if !may_sign_certificates(issuer) {
                *refused_issuer.borrow_mut() = Some(issuer.tbs_certificate.subject.to_string());
                return Err(webpki::Error::UnknownIssuer);
            }
        }
        Ok(())
    };

    let seconds = u64::try_from(time.timestamp()).map_err(|_| {
        untrusted(format!(
            "the stamped time {} is before 1970",
            time.to_rfc3339()
        ))
    })?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    let path = end_entity
        .verify_for_usage(
            CERTIFICATE_SIGNATURE_ALGORITHMS,
            &anchor_list,
            &intermediate_ders,
            time,
            webpki::KeyUsage::required_if_present(ID_KP_TIME_STAMPING_DER),
            None,
            Some(&may_sign),
        )
        .map_err(|error| {
            if let Some(issuer) = refused_issuer.borrow().clone() {
                return untrusted(format!(
                    "{issuer} issued a certificate on the path, but its keyUsage does not \
                     allow signing certificates (keyCertSign)"
                ));
            }
            match error {
                webpki::Error::CaUsedAsEndEntity => TokenError::NotTsaCertificate {
                    subject: leaf_subject.clone(),
                    reason: "it is a CA certificate (basicConstraints CA:TRUE)".into(),
                },
                other => untrusted(path_error(&other, &leaf.tbs_certificate.issuer)),
            }
        })?;

    let mut chain = vec![leaf.clone()];
    for cert in path.intermediate_certificates() {
        chain.push(Certificate::from_der(cert.der().as_ref()).map_err(|e| {
            TokenError::Malformed {
                what: "certificate",
                reason: e.to_string(),
            }
        })?);
    }
    let anchor = anchor_index(path.anchor()).expect("the path ends at one of our anchors");
    chain.push(anchors[anchor].clone());
    Ok(chain)
}

/// Signature algorithms accepted on certificates of a TSA's path.
static CERTIFICATE_SIGNATURE_ALGORITHMS:
    &[&dyn rustls::pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
];

/// id-kp-timeStamping as the DER contents of its OID.
const ID_KP_TIME_STAMPING_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// Why webpki found no path, in words (`issuer`: the TSA certificate's issuer).
fn path_error(error: &webpki::Error, issuer: &x509_cert::name::Name) -> String {
    match error {
        webpki::Error::UnknownIssuer => {
            format!("no trusted certificate named {issuer} signed it, nor any certificate on its way")
        }
        webpki::Error::EndEntityUsedAsCa => {
            "a certificate on its path that is not a CA (no basicConstraints CA:TRUE) issued another"
                .into()
        }
        webpki::Error::PathLenConstraintViolated => {
            "a CA on its path has more CAs below it than its pathLenConstraint allows".into()
        }
        webpki::Error::CertExpired { time, not_after } => format!(
            "a certificate on its path expired at {} before the stamped time {}",
            unix_seconds(not_after.as_secs()),
            unix_seconds(time.as_secs())
        ),
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "a certificate on its path is valid only from {}, after the stamped time {}",
            unix_seconds(not_before.as_secs()),
            unix_seconds(time.as_secs())
        ),
        webpki::Error::RequiredEkuNotFoundContext(_) => {
            "a CA on its path restricts its extendedKeyUsage and leaves out timeStamping".into()
        }
        webpki::Error::InvalidSignatureForPublicKey => {
            "a signature on its path does not verify".into()
        }
        other => format!("its certificate path is refused ({other})"),
    }
}

fn unix_seconds(seconds: u64) -> String {
    DateTime::from_timestamp(seconds.min(i64::MAX as u64) as i64, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| format!("{seconds} s after 1970"))
}

/// Whether `cert` may sign certificates: a keyUsage extension, when there
/// is one, must have keyCertSign (bit 5). One that cannot be read may not.
fn may_sign_certificates(cert: &Certificate) -> bool {
    const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
    const KEY_CERT_SIGN: usize = 5;
    let Some(extension) = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_CE_KEY_USAGE)
    else {
        return true;
    };
    match der::asn1::BitString::from_der(extension.extn_value.as_bytes()) {
        Ok(bits) => bits.bits().nth(KEY_CERT_SIGN).unwrap_or(false),
        Err(_) => false,
    }
}

fn check_validity(cert: &Certificate, time: DateTime<Utc>) -> Result<(), TokenError> {
    let validity = &cert.tbs_certificate.validity;
    let not_before = x509_time(&validity.not_before);
    let not_after = x509_time(&validity.not_after);
    if time < not_before || time > not_after {
        return Err(TokenError::OutsideValidity {
            subject: cert.tbs_certificate.subject.to_string(),
            time: time.to_rfc3339(),
            not_before: not_before.to_rfc3339(),
            not_after: not_after.to_rfc3339(),
        });
    }
    Ok(())
}

/// RSA PKCS#1 v1.5 signature check of `message` by `signer`'s key.
fn verify_rsa(
    signer: &Certificate,
    signature_algorithm: &ObjectIdentifier,
    digest_algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), TokenError> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

    let rsa_algorithms = [
        RSA_ENCRYPTION,
        SHA_256_WITH_RSA_ENCRYPTION,
        SHA_384_WITH_RSA_ENCRYPTION,
        SHA_512_WITH_RSA_ENCRYPTION,
    ];
    if !rsa_algorithms.contains(signature_algorithm) {
        return Err(TokenError::Unsupported(format!(
            "signature algorithm {} (reelguard checks RSA signatures)",
            algorithm_name(signature_algorithm)
        )));
    }
    let spki = signer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| TokenError::BadSignature(e.to_string()))?;
    let key = rsa::RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| TokenError::BadSignature(format!("the signer's key is not RSA: {e}")))?;
    let signature =
        Signature::try_from(signature).map_err(|e| TokenError::BadSignature(e.to_string()))?;
    let result = match *digest_algorithm {
        ID_SHA_256 => VerifyingKey::<Sha256>::new(key).verify(message, &signature),
        ID_SHA_384 => VerifyingKey::<Sha384>::new(key).verify(message, &signature),
        ID_SHA_512 => VerifyingKey::<Sha512>::new(key).verify(message, &signature),
        other => return Err(TokenError::Unsupported(algorithm_name(&other))),
    };
    result.map_err(|_| {
        TokenError::BadSignature(format!(
            "RSA signature does not verify with the key of {}",
            signer.tbs_certificate.subject
        ))
    })
}

fn digest_with(algorithm: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, TokenError> {
    Ok(match *algorithm {
        ID_SHA_256 => Sha256::digest(data).to_vec(),
        ID_SHA_384 => Sha384::digest(data).to_vec(),
        ID_SHA_512 => Sha512::digest(data).to_vec(),
        ID_SHA1 => sha1::Sha1::digest(data).to_vec(),
        other => return Err(TokenError::Unsupported(algorithm_name(&other))),
    })
}

fn algorithm_name(oid: &ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map(str::to_string)
        .unwrap_or_else(|| oid.to_string())
}

fn subject_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.5.29.14");
    let extension = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    OctetString::from_der(extension.extn_value.as_bytes())
        .ok()
        .map(|o| o.as_bytes().to_vec())
}

fn sha256_imprint(sha256: &[u8; 32]) -> MessageImprint {
    MessageImprint {
        hash_algorithm: x509_cert::spki::AlgorithmIdentifier {
            oid: ID_SHA_256,
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(sha256.to_vec()).expect("32 bytes fit"),
    }
}

/// The nonce as a positive DER INTEGER.
fn nonce_int(nonce: u64) -> Int {
    let mut bytes = nonce.to_be_bytes().to_vec();
    while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
        bytes.remove(0);
    }
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    Int::new(&bytes).expect("a minimal positive integer")
}

fn generalized_time(time: &der::asn1::GeneralizedTime) -> DateTime<Utc> {
    unix_to_utc(time.to_unix_duration())
}

fn x509_time(time: &x509_cert::time::Time) -> DateTime<Utc> {
    unix_to_utc(time.to_unix_duration())
}

fn unix_to_utc(duration: std::time::Duration) -> DateTime<Utc> {
    DateTime::from_timestamp(duration.as_secs() as i64, duration.subsec_nanos())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Reads PEM certificates (one or several per file); none from a file of
/// blanks only.
///
/// Each `CERTIFICATE` block is cut out here, turned into DER and decoded
/// from that slice: der's streaming PEM reader never returns on a block
/// whose DER announces more bytes than the block holds (a hostile bundle's
/// CA file would hang `verify`), and x509-cert's chain reader subtracts
/// past zero on empty input.
pub fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<Certificate>, der::Error> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    let mut certificates = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let end = find(block, END).ok_or(der::pem::Error::PostEncapsulationBoundary)? + END.len();
        let (_, der) = der::pem::decode_vec(&block[..end])?;
        certificates.push(Certificate::from_der(&der)?);
        rest = &block[end..];
    }
    if certificates.is_empty() && !pem.iter().all(u8::is_ascii_whitespace) {
        return Err(der::pem::Error::PreEncapsulationBoundary.into());
    }
    Ok(certificates)
}

/// A certificate as PEM text.
pub fn certificate_pem(der: &[u8]) -> String {
    use der::pem::LineEnding;
    der::pem::encode_string("CERTIFICATE", LineEnding::LF, der).expect("PEM encoding of bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_file_of_blanks_holds_no_certificates_and_never_panics() {
        for blank in [&b""[..], b"\n", b"\r\n\r\n", b"  \t"] {
            assert_eq!(parse_pem_certificates(blank).unwrap(), Vec::new());
        }
        assert!(parse_pem_certificates(b"-----BEGIN CERTIFICATE-----\n").is_err());
        assert!(parse_pem_certificates(b"not a certificate").is_err());
    }

    #[test]
    fn a_certificate_claiming_more_bytes_than_its_block_holds_is_refused_at_once() {
        // "MII0": a SEQUENCE announcing 0x34.. bytes, then nothing.
        let pem = b"\n\n-----BEGIN CERTIFICATE-----\nMII0\n\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_certificates(pem).is_err());
    }

    /// A self-signed P-256 certificate, CN=reelguard unit test.
    const TEST_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nMIIBkjCCATegAwIBAgIUVVtkUzvxq+XpdpZ4f/55F234UEYwCgYIKoZIzj0EAwIw\nHjEcMBoGA1UEAwwTcmVlbGd1YXJkIHVuaXQgdGVzdDAeFw0yNjEyMDcxNTI3MTJa\nFw0zNjEyMDQxNTI3MTJaMB4xHDAaBgNVBAMME3JlZWxndWFyZCB1bml0IHRlc3Qw\nWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARq53XJyueKIcBjcHEMWV4TAQC81GQG\nfAUuc96AHDMqgzUzKmDObd6BvjRB5C2GDpalVf6JSxC5gF2Dy666pIo9o1MwUTAd\nBgNVHQ4EFgQU3vcE73yZXX2jn5961zps7/amLHkwHwYDVR0jBBgwFoAU3vcE73yZ\nXX2jn5961zps7/amLHkwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG\nAiEAh3XmZ0VBcraN6zeD0T/eGhcIht0feLx3nROkPUsnwqsCIQDTEBfYQSEYDjxL\nPCX6Mq7heO7VfRJrBOogLX0zRXhzmA==\n-----END CERTIFICATE-----";

    #[test]
    fn a_chain_of_pem_certificates_reads_every_block_between_any_text() {
        let pem = format!("Subject: a note\n{TEST_CERTIFICATE}\n\r\n{TEST_CERTIFICATE}\n");
        let read = parse_pem_certificates(pem.as_bytes()).unwrap();
        assert_eq!(read.len(), 2);
        assert!(read[0]
            .tbs_certificate
            .subject
            .to_string()
            .contains("reelguard unit test"));
        // Written out and read back, byte for byte.
        use der::Encode;
        let der = read[0].to_der().unwrap();
        assert_eq!(
            parse_pem_certificates(certificate_pem(&der).as_bytes()).unwrap(),
            vec![read[0].clone()]
        );
    }

    #[test]
    fn nonce_is_a_minimal_positive_integer() {
        assert_eq!(nonce_int(0).as_bytes(), &[0]);
        assert_eq!(nonce_int(0x7f).as_bytes(), &[0x7f]);
        assert_eq!(nonce_int(0x80).as_bytes(), &[0, 0x80]);
        assert_eq!(nonce_int(u64::MAX).as_bytes().len(), 9);
    }

    #[test]
    fn request_round_trips() {
        let digest = [7u8; 32];
        let der = build_request(&digest, 0xdead_beef);
        let request = TimeStampReq::from_der(&der).unwrap();
        assert!(request.cert_req);
        assert_eq!(request.message_imprint.hashed_message.as_bytes(), &digest);
        assert_eq!(
            request.nonce.unwrap().as_bytes(),
            &[0, 0xde, 0xad, 0xbe, 0xef]
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for garbage in [
            &b""[..],
            b"\x30\x03\x02\x01",
            b"<html>500</html>",
            &[0xff; 64],
        ] {
            assert!(matches!(
                check_response(garbage, &[0; 32], 1, &[]),
                Err(TokenError::Malformed { .. })
            ));
            assert!(matches!(
                verify_token(garbage, &[0; 32], None, &[]),
                Err(TokenError::Malformed { .. })
            ));
        }
    }
}
