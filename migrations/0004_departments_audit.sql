-- Departments (a tree per organization), the users in them, and the append-only audit log of
-- admin actions.

CREATE TABLE departments (
    org_id      bigint  NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id          bigint  GENERATED ALWAYS AS IDENTITY,
    parent_id   bigint,  -- NULL at the root
    name        text    NOT NULL CHECK (length(name) BETWEEN 1 AND 200 AND position('/' IN name) = 0),
    sort        integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, parent_id) REFERENCES departments (org_id, id),
    CHECK (parent_id IS DISTINCT FROM id)
);
-- Names are unique among siblings, and the roots are siblings of each other.
CREATE UNIQUE INDEX departments_sibling_name ON departments (org_id, coalesce(parent_id, 0), name);
CREATE INDEX departments_parent ON departments (org_id, parent_id);

CREATE TABLE user_departments (
    org_id         bigint NOT NULL,
    user_id        bigint NOT NULL,
    department_id  bigint NOT NULL,
    PRIMARY KEY (org_id, user_id, department_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)
);
CREATE INDEX user_departments_department ON user_departments (org_id, department_id);

-- Who did what to what, from where. Rows are only ever added: updates and deletes are refused,
-- except when a whole organization is deleted (its rows go with it).
CREATE TABLE audit_log (
    org_id    bigint NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id        bigint GENERATED ALWAYS AS IDENTITY,
    ts        bigint NOT NULL,  -- ms since the epoch
    actor_id  bigint NOT NULL,
    action    text   NOT NULL,
    target    text   NOT NULL,
    summary   jsonb  NOT NULL,  -- {before?, after?}: what changed
    ip        text   NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM orgs WHERE id = OLD.org_id) THEN
        RETURN OLD;  -- the organization itself is being deleted
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
