//! `tessera seed`'s demo organisation, on both backends: what it creates, that a second run
//! creates nothing, and that its users see what their roles promise.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_domain::accounts::UserRepo;
use tessera_domain::shared::validation::Email;
use tessera_server::seed::demo::{expected_logins, seed_demo};
use tessera_server::seed::DEMO_PASSWORD;

use crate::both_backends;
use crate::helpers::{TestApp, ADMIN_EMAIL};

both_backends!(
    the_demo_organisation_is_seeded_once_and_each_role_sees_its_part,
    |app: TestApp| async move {
        let admin = app
            .state
            .db
            .user_by_email(&Email::parse(ADMIN_EMAIL).unwrap())
            .await
            .unwrap()
            .unwrap()
            .actor();
        let first = seed_demo(&app.state, &admin, false).await.unwrap();
        assert_eq!(first.units_created, 22);
        assert_eq!(first.users_created, 30);
        assert_eq!(first.members_created, 300);
        assert_eq!(first.materials_created, 9);
        assert_eq!(first.posts_created, 16);
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM members").await,
            300
        );
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM members WHERE avatar_file_id IS NULL")
                .await,
            0
        );
        // Every dues payment paid its dues.
        assert_eq!(
            app.sql_count(
                "SELECT COUNT(*) AS n FROM payments p JOIN dues d ON d.id = p.dues_id \
                 WHERE d.status <> 'paid'"
            )
            .await,
            0
        );

        let again = seed_demo(&app.state, &admin, false).await.unwrap();
        assert_eq!(
            (
                again.units_created,
                again.users_created,
                again.members_created,
                again.dues_created,
                again.payments_created,
                again.materials_created,
                again.posts_created
            ),
            (0, 0, 0, 0, 0, 0, 0)
        );
        assert_eq!(
            again.logins.iter().map(|l| &l.email).collect::<Vec<_>>(),
            expected_logins()
                .iter()
                .map(|l| &l.email)
                .collect::<Vec<_>>()
        );

        // A cell lead sees its 25 members, a sector lead 50, a regional lead 100, the
        // central committee all 300.
        for (email, members) in [
            ("celula-bom-fim@demo.tessera.example.org", 25),
            ("setor-porto-alegre@demo.tessera.example.org", 50),
            ("cr-sul@demo.tessera.example.org", 100),
            ("cc@demo.tessera.example.org", 300),
        ] {
            let token = app.login(email, DEMO_PASSWORD).await;
            let res = app.get("/api/dashboard", &token).await;
            assert_eq!(res.status(), StatusCode::OK);
            let dashboard: Value = res.json().await.unwrap();
            assert_eq!(dashboard["members"]["total"], members, "{email}");
            let res = app.get("/api/posts/popular", &token).await;
            assert_eq!(res.status(), StatusCode::OK);
            let popular: Value = res.json().await.unwrap();
            assert!(popular["total"].as_i64().unwrap() > 0, "{email}: {popular}");
        }
    }
);
