-- 0003: routes, the handover paths between units.
--
-- A route names its sending and receiving unit by unit code (NULL: any unit,
-- or for the receiver: the KLE number decides), the template a note on it
-- is written in, and its resolution rules (jsonb, checked by stafetd when it
-- loads them: allocation kinds, the target group of placed citizens, the
-- myndighedssnit). The routes shipped with the product are seeded from
-- schema/routes/*.json when this migration runs; operators change them with
-- `stafetd --import-routes` (or SQL), and a running stafetd picks the
-- change up within routes_reload_interval, without a restart.
CREATE TABLE routes (
    code              text PRIMARY KEY
                      CHECK (code ~ '^[A-Za-z0-9ÆØÅæøå][A-Za-z0-9ÆØÅæøå_-]{0,31}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    from_unit         text CHECK (length(from_unit) BETWEEN 1 AND 64),
    to_unit           text CHECK (length(to_unit) BETWEEN 1 AND 64),
    template          text NOT NULL CHECK (length(template) BETWEEN 1 AND 64),
    template_version  integer NOT NULL DEFAULT 1 CHECK (template_version > 0),
    kle               text CHECK (kle ~ '^[0-9]{2}(\.[0-9]{2}){0,2}$'),
    rules             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object'),
    enabled           boolean NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
