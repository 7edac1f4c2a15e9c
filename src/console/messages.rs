//! Messages: a property's message rules (`/admin/properties/{id}/messages`,
//! managers edit them, SPEC §11) and the drafts staff send or drop
//! (`/admin/drafts/{id}/send`, `…/drop`, as `/send` and `/drop` in chat).
//! Both through the core's functions (`access::journey`), audited there.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::error::ConsoleError;
use super::properties::{parse_id, EDITOR};
use super::session::{NoFields, Posted, Session};
use super::today::urlencode;
use super::view::{Chrome, Done};
use super::{render, Console};
use crate::access::journey::schedule::{decide_draft, find_draft};
use crate::access::journey::{self, MessageRule, RuleInput, Trigger};
use crate::access::properties::{get_property, NewProperty};
use crate::conversation::catalog::LANGUAGES;
use crate::conversation::journey::with_default_texts;

/// `GET /admin/properties/{id}/messages`: the rules, as a form.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let mut conn = console.db().acquire().await?;
    let terms = journey::terms_of(&mut conn, id).await?;
    let rules = with_default_texts(journey::rules_of(&mut conn, &terms).await?);
    let inputs: Vec<RuleInput> = rules.into_iter().map(input_of).collect();
    show(&console, &session, id, &done, &inputs, None).await
}

/// `POST /admin/properties/{id}/messages`: saves the rules (a rule with no
/// name, or ticked "remove", is left out); a refused form comes back with
/// the reason and what was typed.
pub async fn save(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let (session, form) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let inputs = read_form(&form)?;
    let mut tx = console.db().begin().await?;
    match journey::replace_rules(&mut tx, id, inputs.clone(), session.member.actor()).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/admin/properties/{id}/messages?done=saved")).into_response())
        }
        Err(e) => {
            drop(tx);
            let e = ConsoleError::from(e);
            let Some((status, message)) = e.form_problem() else { return Err(e) };
            show(&console, &session, id, &Done::default(), &inputs, Some((status, message))).await
        }
    }
}

async fn show(
    console: &Console,
    session: &Session,
    id: Uuid,
    done: &Done,
    rules: &[RuleInput],
    refused: Option<(StatusCode, String)>,
) -> Result<Response, ConsoleError> {
    let property = get_property(console.db(), id).await?;
    let mut views: Vec<minijinja::Value> = rules.iter().enumerate().map(|(i, r)| rule_view(i, r)).collect();
    // One empty rule to add.
    views.push(rule_view(rules.len(), &RuleInput { mode: "auto".into(), ..Default::default() }));
    let page = render::page(
        "messages.html",
        minijinja::context! {
            chrome => Chrome::new(session, "properties", done),
            id => id,
            property => property.name,
            quiet_hours => property.quiet_hours,
            rules => views,
            triggers => Trigger::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            refused => refused.as_ref().map(|(_, message)| message.clone()),
        },
    )?;
    Ok(match refused {
        Some((status, _)) => (status, page).into_response(),
        None => page,
    })
}

fn rule_view(index: usize, rule: &RuleInput) -> minijinja::Value {
    let mut languages: Vec<String> = LANGUAGES.iter().map(|l| (*l).to_owned()).collect();
    languages.extend(rule.templates.keys().filter(|l| !LANGUAGES.contains(&l.as_str())).cloned());
    let templates: Vec<minijinja::Value> = languages
        .iter()
        .map(|l| minijinja::context! { language => l, text => rule.templates.get(l).cloned().unwrap_or_default() })
        .collect();
    let channels: Vec<minijinja::Value> = NewProperty::CHANNELS
        .iter()
        .map(|c| minijinja::context! { name => c, on => rule.channels.iter().any(|x| x == c) })
        .collect();
    minijinja::context! {
        index, name => rule.name, trigger => rule.trigger, offset_minutes => rule.offset_minutes,
        local_time => rule.local_time, mode => rule.mode, whatsapp_template => rule.whatsapp_template,
        templates, channels, built_in => rule.name == journey::PRE_ARRIVAL,
    }
}

fn input_of(rule: MessageRule) -> RuleInput {
    RuleInput {
        name: rule.name,
        trigger: rule.trigger.as_str().to_owned(),
        offset_minutes: i64::from(rule.offset_minutes),
        local_time: rule.local_time.map(|t| t.format("%H:%M").to_string()),
        channels: rule.channels,
        mode: rule.mode.as_str().to_owned(),
        templates: rule.templates,
        whatsapp_template: rule.whatsapp_template,
    }
}

/// The rules of the form: fields `r<i>.name`, `r<i>.trigger`, …,
/// `r<i>.ch.<channel>`, `r<i>.t.<language>`, `r<i>.remove`.
fn read_form(form: &HashMap<String, String>) -> Result<Vec<RuleInput>, ConsoleError> {
    let mut indices: Vec<usize> = form
        .keys()
        .filter_map(|k| k.strip_prefix('r')?.strip_suffix(".name")?.parse().ok())
        .filter(|i| *i < 100)
        .collect();
    indices.sort_unstable();
    let mut rules = Vec::new();
    for i in indices {
        let field = |name: &str| form.get(&format!("r{i}.{name}")).map(|v| v.trim().to_owned()).unwrap_or_default();
        let name = field("name");
        if name.is_empty() || field("remove") == "on" {
            continue;
        }
        let offset = field("offset_minutes");
        let offset_minutes = if offset.is_empty() { Ok(0) } else { offset.parse::<i64>() }
            .map_err(|_| ConsoleError::BadForm(format!("{name}: the offset is a whole number of minutes.")))?;
        let prefix = format!("r{i}.t.");
        let templates: BTreeMap<String, String> = form
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.trim().to_owned())))
            .filter(|(_, text)| !text.is_empty())
            .collect();
        let channels = NewProperty::CHANNELS
            .iter()
            .filter(|c| field(&format!("ch.{c}")) == "on")
            .map(|c| (*c).to_owned())
            .collect();
        rules.push(RuleInput {
            trigger: field("trigger"),
            local_time: Some(field("local_time")).filter(|t| !t.is_empty()),
            mode: field("mode"),
            whatsapp_template: Some(field("whatsapp_template")).filter(|t| !t.is_empty()),
            name,
            offset_minutes,
            channels,
            templates,
        });
    }
    Ok(rules)
}

/// `POST /admin/drafts/{id}/send` and `…/drop`: as `/send` and `/drop`.
pub async fn decide(
    State(console): State<Arc<Console>>,
    Path((id, what)): Path<(String, String)>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound)?;
    let send = match what.as_str() {
        "send" => true,
        "drop" => false,
        _ => return Err(ConsoleError::NotFound),
    };
    let mut tx = console.db().begin().await?;
    let draft = find_draft(&mut *tx, id).await?;
    session.require(draft.property_id, Session::command_role(&what))?;
    decide_draft(&mut tx, &draft, send, session.member.actor()).await?;
    tx.commit().await?;
    let done = if send { "sent" } else { "dropped" };
    Ok(Redirect::to(&format!("/admin/bookings/{}?done={done}", urlencode(&draft.reference))).into_response())
}
