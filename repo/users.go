package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
	"gorm.io/gorm"
)

// userRow is the users table as GORM sees it.
type userRow struct {
	ID           int64 `gorm:"primaryKey"`
	Name         string
	DisplayName  string
	PasswordHash string
	Roles        string // comma-separated
	CreatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

type userAccountRow struct {
	UserID     int64
	AccountSid string
}

func (userAccountRow) TableName() string { return "user_accounts" }

// Errors of user management.
var (
	ErrUserExists     = errors.New("a user with this name already exists")
	ErrUnknownAccount = errors.New("no such account")
)

// CreateUser stores a new user with its password hash, roles and accounts,
// and returns it with its id. The name must already be normalized.
func (s *Store) CreateUser(ctx context.Context, u models.User) (models.User, error) {
	for _, r := range u.Roles {
		if r == "" || strings.Contains(r, ",") {
			return models.User{}, fmt.Errorf("role %q cannot be stored", r)
		}
	}
	row := userRow{Name: u.Name, DisplayName: u.DisplayName, PasswordHash: u.PasswordHash, Roles: strings.Join(u.Roles, ","), CreatedAt: u.CreatedAt.UTC()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("name = ?", u.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrUserExists
		}
		for _, sid := range u.AccountIDs {
			if err := tx.Model(&accountRow{}).Where("sid = ?", sid).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: %s", ErrUnknownAccount, sid)
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, sid := range u.AccountIDs {
			if err := tx.Create(&userAccountRow{UserID: row.ID, AccountSid: sid}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return models.User{}, err
	}
	u.ID = row.ID
	return u, nil
}

// UserByName returns a user by normalized name, or ErrNotFound.
func (s *Store) UserByName(ctx context.Context, name string) (models.User, error) {
	var rows []userRow
	db := s.db.WithContext(ctx)
	if err := db.Where("name = ?", name).Limit(1).Find(&rows).Error; err != nil {
		return models.User{}, err
	}
	if len(rows) == 0 {
		return models.User{}, ErrNotFound
	}
	r := rows[0]
	var sids []string
	if err := db.Model(&userAccountRow{}).Where("user_id = ?", r.ID).Order("account_sid").Pluck("account_sid", &sids).Error; err != nil {
		return models.User{}, err
	}
	u := models.User{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName, PasswordHash: r.PasswordHash, AccountIDs: sids, CreatedAt: r.CreatedAt.UTC()}
	if r.Roles != "" {
		u.Roles = strings.Split(r.Roles, ",")
	}
	return u, nil
}

// SetUserPassword replaces a user's password hash, or returns ErrNotFound.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string) error {
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("name = ?", name).Update("password_hash", hash)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
