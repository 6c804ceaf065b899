package devserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"
)

// prepareNamespace creates the namespace if missing and gives it every search attribute it
// lacks. Both happen in the database before the server starts, so that every service sees
// the search attributes from its first request; registering them through the operator
// service would leave each service's namespace cache stale for up to ten seconds.
func prepareNamespace(conf *config.SQL, namespace string, retention time.Duration, attrs map[string]enums.IndexedValueType) error {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, attrs)
	if err != nil {
		return err
	}
	ns.Detail.Config.Retention = durationpb.New(retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if len(attrs) == 0 {
		return nil
	}

	db, err := sql.NewSQLDB(sqlplugin.DbKindMain, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := addSearchAttributes(ctx, tx, namespace, attrs); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit search attributes: %w", err)
	}
	return nil
}

// addSearchAttributes updates the namespace record the way the server's own UpdateNamespace
// does: under the metadata lock, bumping the config and notification versions.
func addSearchAttributes(ctx context.Context, tx sqlplugin.Tx, namespace string, attrs map[string]enums.IndexedValueType) error {
	meta, err := tx.LockNamespaceMetadata(ctx)
	if err != nil {
		return fmt.Errorf("lock namespace metadata: %w", err)
	}
	rows, err := tx.SelectFromNamespace(ctx, sqlplugin.NamespaceFilter{Name: &namespace})
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(rows) != 1 {
		return errors.New("not found after creation")
	}
	row := rows[0]
	serializer := serialization.NewSerializer()
	detail, err := serializer.NamespaceDetailFromBlob(persistence.NewDataBlob(row.Data, row.DataEncoding))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if detail.Config.CustomSearchAttributeAliases == nil {
		detail.Config.CustomSearchAttributeAliases = map[string]string{}
	}
	added, err := allocateFields(detail.Config.CustomSearchAttributeAliases, attrs)
	if err != nil || !added {
		return err
	}
	detail.ConfigVersion++
	blob, err := serializer.NamespaceDetailToBlob(detail)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if _, err := tx.UpdateNamespace(ctx, &sqlplugin.NamespaceRow{
		ID:                  row.ID,
		Name:                row.Name,
		Data:                blob.GetData(),
		DataEncoding:        blob.GetEncodingType().String(),
		IsGlobal:            row.IsGlobal,
		NotificationVersion: meta.NotificationVersion,
	}); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if _, err := tx.UpdateNamespaceMetadata(ctx, meta); err != nil {
		return fmt.Errorf("update namespace metadata: %w", err)
	}
	return nil
}

// allocateFields maps each attribute missing from aliases (field name to attribute name) to
// the first free preallocated field of its type, and reports whether it added any.
func allocateFields(aliases map[string]string, attrs map[string]enums.IndexedValueType) (bool, error) {
	fieldTypes := sadefs.GetDBIndexSearchAttributes(nil).CustomSearchAttributes
	fields := map[string]string{}
	for field, name := range aliases {
		fields[name] = field
	}
	added := false
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		typ := attrs[name]
		if field, ok := fields[name]; ok {
			if fieldTypes[field] != typ {
				return false, fmt.Errorf("search attribute %s is registered as %s, not %s", name, fieldTypes[field], typ)
			}
			continue
		}
		free := ""
		for _, field := range slices.Sorted(maps.Keys(fieldTypes)) {
			if _, used := aliases[field]; !used && fieldTypes[field] == typ && sadefs.IsPreallocatedCSAFieldName(field, typ) {
				free = field
				break
			}
		}
		if free == "" {
			return false, fmt.Errorf("search attribute %s: no free field of type %s", name, typ)
		}
		aliases[free] = name
		added = true
	}
	return added, nil
}
