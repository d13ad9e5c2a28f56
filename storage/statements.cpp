// Every store's prepared statements.
#include "storage/statements.hpp"

#include "storage/app_store.hpp"
#include "storage/audit_store.hpp"
#include "storage/call_store.hpp"
#include "storage/cluster_store.hpp"
#include "storage/conv_store.hpp"
#include "storage/dept_store.hpp"
#include "storage/directory_store.hpp"
#include "storage/event_store.hpp"
#include "storage/export_store.hpp"
#include "storage/governance_store.hpp"
#include "storage/import_store.hpp"
#include "storage/media_store.hpp"
#include "storage/notice_store.hpp"
#include "storage/org_store.hpp"
#include "storage/policy_store.hpp"
#include "storage/report_store.hpp"
#include "storage/user_store.hpp"
#include "storage/verification_store.hpp"

namespace switchboard::storage {

void prepare_all(pqxx::connection& c) {
  for (auto prepare :
       {&org_store::prepare, &user_store::prepare, &conv_store::prepare, &dept_store::prepare,
        &audit_store::prepare, &policy_store::prepare, &notice_store::prepare, &code_store::prepare,
        &invitation_store::prepare, &import_store::prepare, &directory_store::prepare, &media_store::prepare,
        &app_store::prepare, &event_store::prepare, &cluster_store::prepare, &call_store::prepare,
        &governance_store::prepare, &report_store::prepare, &export_store::prepare})
    prepare(c);
}

}  // namespace switchboard::storage
