//! The LLM fallback's prompt on the kinds of message the router finds hard
//! (near misses, context before the request, complaints, thanks, short
//! replies, code-switching, Swahili), through async-openai to a mock
//! server answering in OpenAI's chat-completions shape with the answers of
//! `llm_answers.tsv`.

use doorman::conversation::llm::{redact, LlmClient};
use doorman::conversation::router::{classify_after, Intent};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ANSWERS: &str = include_str!("llm_answers.tsv");

/// kind, previous, message, the model's answer, the intent it names.
fn answers() -> Vec<[&'static str; 5]> {
    ANSWERS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>().try_into().unwrap_or_else(|_| panic!("five fields: {l:?}")))
        .collect()
}

/// Answers each request with the recorded answer to its (redacted) message.
async fn recorded_model() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let asked = body["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
            let content = answers()
                .into_iter()
                .find(|[_, _, message, _, _]| redact(message) == asked)
                .map_or("{\"intent\":\"unknown\",\"answer\":null}", |row| row[3]);
            ResponseTemplate::new(200).set_body_json(json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": "test-model",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": content },
                              "finish_reason": "stop", "logprobs": null }],
                "usage": { "prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60 }
            }))
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_prompt_reads_the_hard_kinds_and_the_router_is_never_confidently_wrong_on_them() {
    let server = recorded_model().await;
    let client =
        LlmClient::new(&SecretString::from("sk-test"), Some(&format!("{}/v1", server.uri())), "test-model", 100);
    for [kind, previous, message, _, intent] in answers() {
        let previous = Intent::parse(previous);
        let expected = Intent::parse(intent).unwrap();
        let verdict = client.classify(message, "Property: Old Town Flats", previous).await.unwrap();
        assert_eq!(verdict.intent, expected, "{kind}: {message:?}");
        assert_eq!(verdict.answer, None, "{kind}: {message:?}");
        // The router answers these itself or hands them on; never a wrong
        // intent with confidence.
        let routed = classify_after(message, previous);
        assert!(
            routed.intent == expected || routed.unsure || routed.intent == Intent::Unknown,
            "{kind}: {message:?} {routed:?}"
        );
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), answers().len());
    for request in &requests {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let system = body["messages"][0]["content"].as_str().unwrap();
        let user = body["messages"][1]["content"].as_str().unwrap();
        assert!(system.contains("fridge, balcony") && system.contains("Leaving luggage after check-out"), "{system}");
        assert!(!user.contains("4821"), "the model never sees a number: {user}");
        let after_lock = user == "still no" || user == "ok it worked, thanks!";
        assert_eq!(
            system.contains("last answer to this guest was about: lock_problem"),
            after_lock,
            "{user}: {system}"
        );
    }
}
