//! The checks a value passes before the store sees it, shared by the API's
//! handlers (`routes`) and the web pages (`web`), so a form in the browser
//! takes exactly what the API takes: a case's details, run metadata, an
//! email address, a defect link template. Each check pushes a
//! [`FieldError`] naming the field and returns the value in its stored
//! form (trimmed); the caller answers 422 (or re-renders its form) when any
//! was pushed.

use verdict_api as api;
use verdict_api::schema as s;
use verdict_store::{DetailsPatch, FieldError, Priority, Step};

use crate::dto::optional_text;

/// Longest branch or environment, in characters.
const MAX_META_CHARS: usize = s::MAX_META_CHARS as usize;
/// Longest build URL, in characters.
const MAX_URL_CHARS: usize = s::MAX_URL_CHARS as usize;

/// A branch or an environment: at most 255 characters as sent, no control
/// character, trimmed and then not empty.
pub(crate) fn meta_text(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    if value.chars().count() > MAX_META_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_META_CHARS} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    } else if trimmed.is_empty() {
        errors.push(FieldError::new(
            field,
            "must not be empty (send null, or leave it out, for none)",
        ));
    }
    trimmed.to_string()
}

/// A commit: 4 to 64 hex digits, stored lower-case.
pub(crate) fn commit(value: &str, errors: &mut Vec<FieldError>) -> String {
    if !(4..=64).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        errors.push(FieldError::new("commit", "must be 4 to 64 hex digits"));
    }
    value.to_ascii_lowercase()
}

/// A build URL: an absolute http or https URL with a host, at most 2048
/// characters, no whitespace or control character.
pub(crate) fn build_url(value: &str, errors: &mut Vec<FieldError>) -> String {
    let bad = |c: char| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c);
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        value
            .get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &value[scheme.len()..])
    });
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    if value.chars().count() > MAX_URL_CHARS {
        errors.push(FieldError::new(
            "build_url",
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    } else if host.is_none_or(str::is_empty) || value.chars().any(bad) {
        errors.push(FieldError::new(
            "build_url",
            "must be an absolute http or https URL with a host, without spaces or control characters",
        ));
    }
    value.to_string()
}

/// A case key as sent, in its stored form: the one rule a JUnit import and
/// the CLI apply too ([`verdict_junit::case_key`]: trimmed, a key longer
/// than the limit shortened with a digest, never refused); blank means none.
pub(crate) fn case_key(value: Option<&str>) -> Option<String> {
    value.and_then(verdict_junit::case_key)
}

/// A case's details as sent: `None` for a field left out.
pub(crate) struct Given<'a> {
    pub(crate) preconditions: Option<Option<&'a str>>,
    pub(crate) steps: Option<&'a [api::Step]>,
    pub(crate) priority: Option<Option<&'a str>>,
    pub(crate) refs: Option<&'a [String]>,
}

/// Checks a case's details, naming each bad field after `prefix`
/// (`steps[3].action`, `cases[2].priority`).
pub(crate) fn details(prefix: &str, g: Given<'_>, errors: &mut Vec<FieldError>) -> DetailsPatch {
    let preconditions = g.preconditions.map(|p| {
        optional_text(
            &format!("{prefix}preconditions"),
            p,
            api::MAX_PRECONDITIONS_CHARS,
            errors,
        )
    });
    let steps = g.steps.map(|steps| {
        if steps.len() > api::MAX_STEPS {
            errors.push(FieldError::new(
                format!("{prefix}steps"),
                format!("must have at most {} steps", api::MAX_STEPS),
            ));
        }
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let field = format!("{prefix}steps[{i}]");
                let action = s.action.trim();
                if s.action.chars().count() > api::MAX_STEP_CHARS {
                    errors.push(FieldError::new(
                        format!("{field}.action"),
                        format!("must be at most {} characters", api::MAX_STEP_CHARS),
                    ));
                } else if action.is_empty() {
                    errors.push(FieldError::new(
                        format!("{field}.action"),
                        "must not be empty",
                    ));
                }
                Step {
                    action: action.to_string(),
                    expected: optional_text(
                        &format!("{field}.expected"),
                        s.expected.as_deref(),
                        api::MAX_STEP_CHARS,
                        errors,
                    ),
                }
            })
            .collect()
    });
    let priority = g.priority.map(|p| {
        p.and_then(|p| {
            let parsed = Priority::parse(p);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    format!("{prefix}priority"),
                    "must be one of low, medium, high, critical",
                ));
            }
            parsed
        })
    });
    let refs = g.refs.map(|refs| {
        if refs.len() > api::MAX_REFS {
            errors.push(FieldError::new(
                format!("{prefix}refs"),
                format!("must have at most {} refs", api::MAX_REFS),
            ));
        }
        refs.iter()
            .enumerate()
            .map(|(i, r)| {
                let field = format!("{prefix}refs[{i}]");
                let trimmed = r.trim();
                if r.chars().count() > api::MAX_REF_CHARS {
                    errors.push(FieldError::new(
                        field,
                        format!("must be at most {} characters", api::MAX_REF_CHARS),
                    ));
                } else if trimmed.is_empty() {
                    errors.push(FieldError::new(field, "must not be empty"));
                } else if r.chars().any(char::is_control) {
                    errors.push(FieldError::new(
                        field,
                        "must not contain control characters",
                    ));
                }
                trimmed.to_string()
            })
            .collect()
    });
    DetailsPatch {
        preconditions,
        steps,
        priority,
        refs,
    }
}

/// A plausible address: at most 254 characters as sent, then trimmed: one
/// `@`, something either side, no spaces.
pub(crate) fn check_email(email: &str, errors: &mut Vec<FieldError>) -> String {
    let short = email.chars().count() <= 254;
    let email = email.trim();
    let plausible = short
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !plausible {
        errors.push(FieldError::new(
            "email",
            "must be an email address (name@example.com)",
        ));
    }
    email.to_string()
}

/// The longest defect link template, in characters (the published schema's).
pub(crate) const MAX_TEMPLATE_CHARS: usize = verdict_api::schema::MAX_URL_CHARS as usize;

/// A defect link template: an absolute http or https URL with a host, at
/// most 2048 characters, no whitespace or control character, holding
/// `{id}` (where the defect goes).
pub(crate) fn defect_url_template(value: &str, errors: &mut Vec<FieldError>) -> String {
    const FIELD: &str = "defect_url_template";
    let bad = |c: char| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c);
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        value
            .get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &value[scheme.len()..])
    });
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    if value.chars().count() > MAX_TEMPLATE_CHARS {
        errors.push(FieldError::new(
            FIELD,
            format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
        ));
    } else if host.is_none_or(str::is_empty) || value.chars().any(bad) {
        errors.push(FieldError::new(
            FIELD,
            "must be an absolute http or https URL with a host, without spaces or control characters",
        ));
    } else if !value.contains("{id}") {
        errors.push(FieldError::new(
            FIELD,
            "must contain {id}, where the defect goes (https://tracker.example.com/browse/{id})",
        ));
    }
    value.to_string()
}

/// The same check for a form's field: surrounding spaces are dropped and a
/// blank field is no template.
pub(crate) fn defect_url_template_field(
    value: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(defect_url_template(value, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_absolute_urls_with_an_id() {
        let check = |v: &str| {
            let mut errors = Vec::new();
            let t = defect_url_template_field(v, &mut errors);
            (t, errors.len())
        };
        assert_eq!(check("  "), (None, 0));
        assert_eq!(
            check(" https://t.example.com/browse/{id} "),
            (Some("https://t.example.com/browse/{id}".into()), 0)
        );
        assert_eq!(check("https://t.example.com/browse/").1, 1);
        assert_eq!(check("ftp://t.example.com/{id}").1, 1);
        assert_eq!(check("/browse/{id}").1, 1);
        assert_eq!(check("https://t.example.com/a b/{id}").1, 1);
        assert_eq!(check("https:///{id}").1, 1);
        assert_eq!(
            check(&format!("https://t.example.com/{{id}}{}", "a".repeat(2048))).1,
            1
        );
    }
}
