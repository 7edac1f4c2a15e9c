//! The console's admin API routes (SPEC §10): lists with filters and
//! paging, PATCH of properties, rooms and locks, and the OpenAPI document.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, id_of, TestApp};

async fn body(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    response.json().await.expect("a JSON body")
}

async fn book(app: &TestApp, property_id: Uuid, reference: &str, room: &str, check_in: &str, check_out: &str) {
    let booking = json!({
        "property_id": property_id, "room": room, "guest": { "name": "Guest" },
        "check_in": check_in, "check_out": check_out, "status": "confirmed"
    });
    let response = app.put(&format!("/api/v1/bookings/{reference}"), &booking).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn properties_and_locks_are_listed_and_filtered() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let other = body(app.post("/api/v1/properties", &json!({ "name": "Alpha", "timezone": "UTC" })).await, 201).await;

    let properties = body(app.get("/api/v1/properties").await, 200).await;
    let names: Vec<&str> = properties.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha", "Old Town Flats"]);

    let locks = body(app.get(&format!("/api/v1/locks?property_id={}", fixture.property_id)).await, 200).await;
    let names: Vec<&str> = locks.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Entrance", "Room 101", "Room 102"], "entrances first");
    let none = body(app.get(&format!("/api/v1/locks?property_id={}", id_of(&other))).await, 200).await;
    assert_eq!(none, json!([]));
    assert_eq!(body(app.get("/api/v1/locks").await, 200).await.as_array().unwrap().len(), 3);
    assert_error(app.get(&format!("/api/v1/locks?property_id={}", Uuid::new_v4())).await, 404, "not_found").await;
    assert_error(app.get("/api/v1/locks?property_id=nope").await, 400, "invalid_query").await;
}

#[tokio::test]
async fn bookings_are_filtered_by_property_dates_and_room_and_paged() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let p = fixture.property_id;
    book(&app, p, "A-1", "101", "2026-12-20", "2026-12-22").await;
    book(&app, p, "A-2", "102", "2026-12-21", "2026-12-24").await;
    book(&app, p, "A-3", "101", "2026-12-23", "2026-12-26").await;
    book(&app, p, "A-4", "101", "2026-12-28", "2026-12-30").await;

    let refs = |page: &Value| -> Vec<String> {
        page["bookings"].as_array().unwrap().iter().map(|b| b["external_ref"].as_str().unwrap().to_owned()).collect()
    };
    let window =
        body(app.get(&format!("/api/v1/bookings?property_id={p}&from=2026-12-22&to=2026-12-23")).await, 200).await;
    // A-1 leaves on the 22nd at 11:00 local, after the start of the 22nd.
    assert_eq!(refs(&window), ["A-1", "A-2", "A-3"]);
    let room = body(app.get(&format!("/api/v1/bookings?property_id={p}&room=101&from=2026-12-23")).await, 200).await;
    assert_eq!(refs(&room), ["A-3", "A-4"]);
    let backwards = body(app.get("/api/v1/bookings?from=2026-12-30&to=2026-12-01").await, 200).await;
    assert_eq!(refs(&backwards), Vec::<String>::new());

    let first = body(app.get(&format!("/api/v1/bookings?property_id={p}&limit=3")).await, 200).await;
    assert_eq!(refs(&first), ["A-1", "A-2", "A-3"]);
    assert_eq!(first["next_offset"], 3);
    let second = body(app.get(&format!("/api/v1/bookings?property_id={p}&limit=3&offset=3")).await, 200).await;
    assert_eq!(refs(&second), ["A-4"]);
    assert!(second.get("next_offset").is_none_or(Value::is_null), "{second}");
    assert!(first["bookings"][0]["guest"]["name"].is_string());

    assert_error(app.get("/api/v1/bookings?limit=0").await, 422, "invalid_value").await;
    assert_error(app.get("/api/v1/bookings?limit=201").await, 422, "invalid_value").await;
    assert_error(app.get("/api/v1/bookings?from=2026-13-01").await, 400, "invalid_query").await;
    assert_error(app.get(&format!("/api/v1/bookings?property_id={}", Uuid::new_v4())).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_property_patch_changes_only_what_it_names_and_is_audited() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let path = format!("/api/v1/properties/{}", fixture.property_id);
    let patch = json!({
        "check_in_time": "16:00", "code_release_hours": 48,
        "knowledge": { "wifi_password": "new-secret-wifi", "parking": "Garage C" }
    });
    let patched = body(
        app.client.patch(app.url(&path)).bearer_auth(crate::helpers::TOKEN).json(&patch).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["check_in_time"], "16:00");
    assert_eq!(patched["check_out_time"], "11:00", "unchanged");
    assert_eq!(patched["code_release_hours"], 48);
    assert_eq!(patched["name"], "Old Town Flats");
    assert_eq!(patched["knowledge"]["parking"], "Garage C");

    let cleared = json!({ "knowledge": { "parking": "" } });
    let cleared = body(
        app.client.patch(app.url(&path)).bearer_auth(crate::helpers::TOKEN).json(&cleared).send().await.unwrap(),
        200,
    )
    .await;
    assert!(cleared["knowledge"]["parking"].is_null());
    assert_eq!(cleared["knowledge"]["wifi_password"], "new-secret-wifi");

    let audit = body(app.get("/api/v1/audit").await, 200).await;
    let updates: Vec<&Value> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "property.updated").collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["actor"], "api");
    let changed = updates[0]["details"]["changed"].to_string();
    assert!(changed.contains("knowledge.wifi_password") && changed.contains("check_in_time"), "{changed}");
    assert!(!audit.to_string().contains("new-secret-wifi"), "the password never reaches the trail");
}

#[tokio::test]
async fn patches_are_validated_as_on_creation() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let patch = |path: String, body: Value| {
        app.client.patch(app.url(&path)).bearer_auth(crate::helpers::TOKEN).json(&body).send()
    };
    let property = format!("/api/v1/properties/{}", fixture.property_id);
    for (bad, field) in [
        (json!({ "timezone": "Europe/Atlantis" }), "timezone"),
        (json!({ "check_out_time": "noon" }), "check_out_time"),
        (json!({ "code_release_hours": 721 }), "code_release_hours"),
        (json!({ "name": "   " }), "name"),
        (json!({ "stars": 5 }), "stars"),
    ] {
        let message = assert_error(patch(property.clone(), bad).await.unwrap(), 422, "invalid_value").await;
        assert!(message.contains(field), "{message} names {field}");
    }
    let entrance = format!("/api/v1/locks/{}", fixture.locks["entrance"]);
    let message =
        assert_error(patch(entrance.clone(), json!({ "code_length": 4 })).await.unwrap(), 422, "invalid_value").await;
    assert!(message.contains("code_length"), "{message}");
    let message = assert_error(
        patch(entrance.clone(), json!({ "capacity": 2, "backup_codes": 2 })).await.unwrap(),
        422,
        "invalid_value",
    )
    .await;
    assert!(message.contains("backup_codes"), "{message}");
    let message =
        assert_error(patch(entrance, json!({ "provider": "nuki" })).await.unwrap(), 422, "invalid_value").await;
    assert!(message.contains("provider"), "identity fields are not patched: {message}");

    let room = format!("/api/v1/rooms/{}", fixture.rooms["101"]);
    assert_error(patch(room.clone(), json!({ "name": "102" })).await.unwrap(), 409, "conflict").await;
    assert_error(patch(room, json!({ "name": "a\u{7}" })).await.unwrap(), 422, "invalid_value").await;
    for path in ["properties", "rooms", "locks"] {
        let unknown = patch(format!("/api/v1/{path}/{}", Uuid::new_v4()), json!({})).await.unwrap();
        assert_error(unknown, 404, "not_found").await;
    }
}

#[tokio::test]
async fn a_lock_and_a_room_are_patched_and_audited() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let lock = format!("/api/v1/locks/{}", fixture.locks["101"]);
    let send = |path: String, body: Value| {
        app.client.patch(app.url(&path)).bearer_auth(crate::helpers::TOKEN).json(&body).send()
    };
    let patched = body(
        send(lock.clone(), json!({ "name": "Door 101", "code_length": 8, "status": "inactive" })).await.unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["name"], "Door 101");
    assert_eq!(patched["code_length"], 8);
    assert_eq!(patched["status"], "inactive");
    assert_eq!(patched["capacity"], 100, "unchanged");
    let room = body(
        send(format!("/api/v1/rooms/{}", fixture.rooms["101"]), json!({ "name": "Suite 101" })).await.unwrap(),
        200,
    )
    .await;
    assert_eq!(room["name"], "Suite 101");

    let audit = body(app.get(&format!("/api/v1/audit?lock_id={}", fixture.locks["101"])).await, 200).await;
    let event = audit.as_array().unwrap().iter().find(|e| e["action"] == "lock.updated").expect("lock.updated");
    assert_eq!(event["details"]["code_length"], json!({ "from": 6, "to": 8 }));
    assert_eq!(event["details"]["status"], json!({ "from": "active", "to": "inactive" }));
    let all = body(app.get("/api/v1/audit").await, 200).await;
    assert!(all.as_array().unwrap().iter().any(|e| e["action"] == "room.updated"));
}

#[tokio::test]
async fn the_openapi_document_declares_parameters_statuses_and_constraints() {
    let app = TestApp::spawn().await;
    let doc = body(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let audit = &doc["paths"]["/api/v1/audit"]["get"];
    assert!(audit["parameters"].as_array().unwrap().iter().all(|p| p["in"] == "query"), "{audit}");
    let patch = &doc["paths"]["/api/v1/locks/{id}"]["patch"];
    assert_eq!(patch["parameters"][0]["in"], "path");
    for status in ["200", "400", "401", "404", "413", "415", "422"] {
        assert!(patch["responses"].get(status).is_some(), "PATCH /locks/{{id}} documents {status}");
    }
    let mut ids: Vec<&str> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            ids.push(operation["operationId"].as_str().expect("an operationId"));
        }
    }
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");
    let lock = &doc["components"]["schemas"]["LockRequest"]["properties"];
    assert_eq!(lock["code_length"]["minimum"], 4);
    assert_eq!(lock["code_length"]["maximum"], 10);
    assert_eq!(doc["components"]["schemas"]["PropertyRequest"]["properties"]["name"]["maxLength"], 200);
    assert!(doc["components"]["schemas"]["Timezone"]["enum"].as_array().unwrap().contains(&json!("Europe/Bratislava")));
}
